"""Roles, role assignment and channel permission overwrites (api.md 2.11, 3.5)."""

from __future__ import annotations

import uuid

import pytest

from chat.models import Channel, ChannelMember, MemberRole, PermissionOverwrite, Role
from chat.permissions import ALL, DEFAULT_EVERYONE, Permission
from tests.chat.conftest import P, assign, create_server, grant, join, make_role
from tests.helpers import Api

pytestmark = pytest.mark.django_db

ROLE_KEYS = {
    "id",
    "server_id",
    "name",
    "color",
    "permissions",
    "position",
    "is_default",
    "created_at",
}
MANAGE_ROLES = int(Permission.MANAGE_ROLES)
MANAGE_CHANNELS = int(Permission.MANAGE_CHANNELS)
VIEW = int(Permission.VIEW_CHANNELS)


@pytest.fixture
def sid(api: Api) -> str:
    """alice owns the server; bob and dave are members; carol is not."""
    for name in ("alice", "bob", "carol", "dave"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob", "dave")
    return str(server["id"])


def everyone_id(api: Api, sid: str) -> str:
    return str(Role.objects.get(server_id=sid, is_default=True).id)


def uid(api: Api, name: str) -> str:
    return api.users[name].id


# --- GET/POST /servers/{id}/roles ----------------------------------------------------------------


def test_list_roles_includes_everyone_by_position(api: Api, sid: str) -> None:
    high = make_role(api, "alice", sid, 0, position=5, name="high")
    low = make_role(api, "alice", sid, 0, position=2, name="low")
    roles = api.as_("bob").get(f"{P}/servers/{sid}/roles").json()
    assert [r["id"] for r in roles] == [everyone_id(api, sid), low, high]
    assert set(roles[0]) == ROLE_KEYS
    assert roles[0]["is_default"] is True
    assert roles[0]["permissions"] == "1731456"
    outsider = api.as_("carol").get(f"{P}/servers/{sid}/roles")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")


def test_create_role(api: Api, sid: str) -> None:
    response = api.as_("alice").post(
        f"{P}/servers/{sid}/roles",
        {"name": "Mods", "color": "#ff0000", "permissions": "48", "position": 3},
    )
    assert response.status_code == 200
    role = response.json()
    assert set(role) == ROLE_KEYS
    assert (role["name"], role["color"], role["permissions"], role["position"]) == (
        "Mods",
        "#ff0000",
        "48",
        3,
    )
    assert role["is_default"] is False
    assert role["server_id"] == sid
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_type"], entry["target_id"], entry["changes"]) == (
        "role_create",
        "role",
        role["id"],
        {"name": "Mods"},
    )


@pytest.mark.parametrize(
    ("permissions", "stored"),
    [(None, "0"), ("abc", "0"), (" 5", "0"), ("+5", "5"), ("-1", "-1"), (str(ALL), str(ALL))],
)
def test_create_role_permission_strings(
    api: Api, sid: str, permissions: str | None, stored: str
) -> None:
    body: dict[str, object] = {"name": "r"}
    if permissions is not None:
        body["permissions"] = permissions
    response = api.as_("alice").post(f"{P}/servers/{sid}/roles", body)
    assert response.json()["permissions"] == stored
    assert response.json()["color"] is None
    assert response.json()["position"] == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"name": "x", "permissions": 5}, 422, None),
        ({}, 422, None),
        ({"name": None}, 422, None),
        ({"name": "x" * 101}, 400, "Role name must be at most 100 characters"),
        ({"name": "x", "color": "c" * 33}, 400, "Role color must be at most 32 characters"),
    ],
)
def test_create_role_errors(
    api: Api, sid: str, body: dict[str, object], status: int, error: str | None
) -> None:
    response = api.as_("alice").post(f"{P}/servers/{sid}/roles", body)
    assert response.status_code == status
    if error:
        assert response.json()["error"] == error


def test_create_role_permissions(api: Api, sid: str) -> None:
    denied = api.as_("bob").post(f"{P}/servers/{sid}/roles", {"name": "x"})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    outsider = api.as_("carol").post(f"{P}/servers/{sid}/roles", {"name": "x"})
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = api.as_("carol").post(f"{P}/servers/{uuid.uuid4()}/roles", {"name": "x"})
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    grant(api, "alice", sid, "bob", MANAGE_ROLES | VIEW, position=5)
    ok = api.as_("bob").post(f"{P}/servers/{sid}/roles", {"name": "x", "permissions": str(VIEW)})
    assert ok.status_code == 200
    # no hierarchy check on creation (as the spec)
    above = api.as_("bob").post(f"{P}/servers/{sid}/roles", {"name": "x", "position": 50})
    assert above.status_code == 200


def test_cannot_create_a_role_with_bits_one_lacks(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", MANAGE_ROLES, position=5)
    for bits in (1, int(Permission.BAN_MEMBERS), ALL):
        response = api.as_("bob").post(
            f"{P}/servers/{sid}/roles", {"name": "admin", "permissions": str(bits)}
        )
        assert response.status_code == 403
        assert response.json()["error"] == "Cannot grant permissions you do not have"
    # bits that @everyone gives bob are his to hand out; unused high bits are not checked
    ok = api.as_("bob").post(
        f"{P}/servers/{sid}/roles",
        {"name": "ok", "permissions": str(DEFAULT_EVERYONE | MANAGE_ROLES | 1 << 40)},
    )
    assert ok.status_code == 200


# --- PUT/DELETE /servers/{id}/roles/{role_id} ----------------------------------------------------


def test_update_role(api: Api, sid: str) -> None:
    role_id = make_role(api, "alice", sid, 8, position=2, name="old")
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/roles/{role_id}", {"name": "new", "color": "#000000"}
    )
    assert response.status_code == 200
    role = response.json()
    assert (role["name"], role["color"], role["permissions"], role["position"]) == (
        "new",
        "#000000",
        "8",
        2,
    )
    # null/absent keep; an unparsable permissions string is ignored
    role = (
        api.as_("alice")
        .put(
            f"{P}/servers/{sid}/roles/{role_id}",
            {"color": None, "permissions": "zz", "position": 4},
        )
        .json()
    )
    assert (role["color"], role["permissions"], role["position"]) == ("#000000", "8", 4)
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["changes"]) == ("role_update", {"name": "new"})
    # @everyone may be edited
    everyone = api.as_("alice").put(
        f"{P}/servers/{sid}/roles/{everyone_id(api, sid)}", {"permissions": "128"}
    )
    assert everyone.json()["permissions"] == "128"
    assert everyone.json()["is_default"] is True


def test_update_role_errors(api: Api, sid: str) -> None:
    role_id = make_role(api, "alice", sid, 0, position=2)
    other = create_server(api, "carol")
    foreign = make_role(api, "carol", other["id"], 0)
    for missing_id in (foreign, str(uuid.uuid4())):
        missing = api.as_("alice").put(f"{P}/servers/{sid}/roles/{missing_id}", {})
        assert (missing.status_code, missing.json()["error"]) == (404, "Role not found")
    denied = api.as_("bob").put(f"{P}/servers/{sid}/roles/{role_id}", {})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    assert (
        api.as_("alice").put(f"{P}/servers/{sid}/roles/{role_id}", {"position": "1"}).status_code
        == 422
    )


def test_update_role_hierarchy(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", MANAGE_ROLES, position=5)
    equal = make_role(api, "alice", sid, 0, position=5)
    lower = make_role(api, "alice", sid, 0, position=4)
    response = api.as_("bob").put(f"{P}/servers/{sid}/roles/{equal}", {"name": "x"})
    assert (response.status_code, response.json()["error"]) == (
        403,
        "Cannot edit a role at or above your position",
    )
    assert api.as_("bob").put(f"{P}/servers/{sid}/roles/{lower}", {"name": "x"}).status_code == 200
    moved = api.as_("bob").put(f"{P}/servers/{sid}/roles/{lower}", {"position": 5})
    assert (moved.status_code, moved.json()["error"]) == (
        403,
        "Cannot move a role to or above your position",
    )
    escalate = api.as_("bob").put(f"{P}/servers/{sid}/roles/{lower}", {"permissions": "1"})
    assert escalate.json()["error"] == "Cannot grant permissions you do not have"
    # removing bits, or keeping bits already there, is fine
    keep = api.as_("bob").put(f"{P}/servers/{sid}/roles/{lower}", {"permissions": "0"})
    assert keep.status_code == 200
    # the owner passes HIER whatever the position
    assert (
        api.as_("alice").put(f"{P}/servers/{sid}/roles/{equal}", {"position": 99}).status_code
        == 200
    )


def test_member_without_roles_cannot_pass_hier(api: Api, sid: str) -> None:
    api.as_("alice").put(
        f"{P}/servers/{sid}/roles/{everyone_id(api, sid)}",
        {"permissions": str(DEFAULT_EVERYONE | MANAGE_ROLES)},
    )
    role = make_role(api, "alice", sid, 0, position=1)
    response = api.as_("bob").put(f"{P}/servers/{sid}/roles/{role}", {"name": "x"})
    assert response.status_code == 403
    everyone = api.as_("bob").put(f"{P}/servers/{sid}/roles/{everyone_id(api, sid)}", {})
    assert everyone.json()["error"] == "Cannot edit a role at or above your position"


def test_delete_role(api: Api, sid: str) -> None:
    role_id = grant(api, "alice", sid, "bob", 0, position=2)
    response = api.as_("alice").delete(f"{P}/servers/{sid}/roles/{role_id}")
    assert (response.status_code, response.json()) == (200, {"message": "Role deleted"})
    assert not Role.objects.filter(id=role_id).exists()
    assert not MemberRole.objects.filter(role_id=role_id).exists()
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_id"], entry["changes"]) == (
        "role_delete",
        role_id,
        {"name": "r-bob"},
    )
    again = api.as_("alice").delete(f"{P}/servers/{sid}/roles/{role_id}")
    assert (again.status_code, again.json()["error"]) == (404, "Role not found")
    default = api.as_("alice").delete(f"{P}/servers/{sid}/roles/{everyone_id(api, sid)}")
    assert (default.status_code, default.json()["error"]) == (403, "Cannot delete the default role")


def test_delete_role_hierarchy(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", MANAGE_ROLES, position=5)
    equal = make_role(api, "alice", sid, 0, position=5)
    lower = make_role(api, "alice", sid, 0, position=1)
    response = api.as_("bob").delete(f"{P}/servers/{sid}/roles/{equal}")
    assert (response.status_code, response.json()["error"]) == (
        403,
        "Cannot delete a role at or above your position",
    )
    assert api.as_("bob").delete(f"{P}/servers/{sid}/roles/{lower}").status_code == 200
    assert api.as_("dave").delete(f"{P}/servers/{sid}/roles/{equal}").status_code == 403


# --- PUT/DELETE /servers/{id}/members/{user_id}/roles -------------------------------------------


def test_assign_and_remove_role(api: Api, sid: str) -> None:
    role_id = make_role(api, "alice", sid, 0, position=1, name="R")
    bob = uid(api, "bob")
    path = f"{P}/servers/{sid}/members/{bob}/roles"
    response = api.as_("alice").put(path, {"role_id": role_id})
    assert (response.status_code, response.json()) == (200, {"message": "Role assigned"})
    assert api.as_("alice").put(path, {"role_id": role_id}).status_code == 200  # idempotent
    assert MemberRole.objects.filter(user_id=bob, role_id=role_id).count() == 1
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_type"], entry["target_id"], entry["changes"]) == (
        "member_role_add",
        "member",
        bob,
        {"role_id": role_id, "role_name": "R"},
    )
    removed = api.as_("alice").delete(f"{path}/{role_id}")
    assert (removed.status_code, removed.json()) == (200, {"message": "Role removed"})
    assert not MemberRole.objects.filter(user_id=bob, role_id=role_id).exists()
    assert api.as_("alice").delete(f"{path}/{role_id}").status_code == 200  # idempotent
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["changes"]) == (
        "member_role_remove",
        {"role_id": role_id, "role_name": "R"},
    )
    # @everyone may be assigned explicitly
    assert api.as_("alice").put(path, {"role_id": everyone_id(api, sid)}).status_code == 200


def test_assign_role_errors(api: Api, sid: str) -> None:
    role_id = make_role(api, "alice", sid, 0)
    bob = uid(api, "bob")
    path = f"{P}/servers/{sid}/members/{bob}/roles"
    missing_role = api.as_("alice").put(path, {"role_id": str(uuid.uuid4())})
    assert (missing_role.status_code, missing_role.json()["error"]) == (404, "Role not found")
    for target in (str(uuid.uuid4()), uid(api, "carol")):  # unknown user, non-member
        response = api.as_("alice").put(
            f"{P}/servers/{sid}/members/{target}/roles", {"role_id": role_id}
        )
        assert (response.status_code, response.json()["error"]) == (404, "Member not found")
    assert api.as_("alice").put(path, {}).status_code == 422
    assert api.as_("alice").put(path, {"role_id": "x"}).status_code == 422
    assert api.as_("bob").put(path, {"role_id": role_id}).status_code == 403
    assert api.as_("carol").put(path, {"role_id": role_id}).status_code == 403
    missing = api.as_("alice").delete(f"{path}/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]) == (404, "Role not found")


def test_assignment_hierarchy(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", MANAGE_ROLES, position=5)
    equal = make_role(api, "alice", sid, 0, position=5)
    lower = make_role(api, "alice", sid, 0, position=2)
    dave = uid(api, "dave")
    path = f"{P}/servers/{sid}/members/{dave}/roles"
    response = api.as_("bob").put(path, {"role_id": equal})
    assert (response.status_code, response.json()["error"]) == (
        403,
        "Cannot assign a role at or above your position",
    )
    assert api.as_("bob").put(path, {"role_id": lower}).status_code == 200
    assign(api, "alice", sid, "dave", equal)
    removing = api.as_("bob").delete(f"{path}/{equal}")
    assert removing.json()["error"] == "Cannot remove a role at or above your position"
    # dave now ranks with bob: bob cannot change his roles any more
    response = api.as_("bob").delete(f"{path}/{lower}")
    assert (response.status_code, response.json()["error"]) == (
        403,
        "Cannot change the roles of a member with equal or higher role",
    )
    owner = api.as_("bob").put(
        f"{P}/servers/{sid}/members/{uid(api, 'alice')}/roles", {"role_id": lower}
    )
    assert owner.json()["error"] == "Cannot change the roles of the server owner"
    # bob may give himself a lower role he could hand out anyway
    mine = api.as_("bob").put(
        f"{P}/servers/{sid}/members/{uid(api, 'bob')}/roles", {"role_id": lower}
    )
    assert mine.status_code == 200


def test_cannot_assign_a_role_with_bits_one_lacks(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", MANAGE_ROLES, position=5)
    admin = make_role(api, "alice", sid, 1, position=1, name="admin")
    for target in ("bob", "dave"):
        response = api.as_("bob").put(
            f"{P}/servers/{sid}/members/{uid(api, target)}/roles", {"role_id": admin}
        )
        assert (response.status_code, response.json()["error"]) == (
            403,
            "Cannot grant permissions you do not have",
        )


# --- Overwrites ----------------------------------------------------------------------------------


def test_overwrites_crud(api: Api, sid: str) -> None:
    channel = api.as_("alice").get(f"{P}/servers/{sid}/channels").json()[0]["id"]
    path = f"{P}/channels/{channel}/overwrites"
    assert api.as_("bob").get(path).json() == []
    body = {
        "target_type": "role",
        "target_id": everyone_id(api, sid),
        "allow_bits": "0",
        "deny_bits": "256",
    }
    response = api.as_("alice").put(path, body)
    assert response.status_code == 200
    overwrite = response.json()
    assert set(overwrite) == {
        "id",
        "channel_id",
        "target_type",
        "target_id",
        "allow_bits",
        "deny_bits",
    }
    assert (overwrite["channel_id"], overwrite["allow_bits"], overwrite["deny_bits"]) == (
        channel,
        "0",
        "256",
    )
    updated = api.as_("alice").put(path, {**body, "allow_bits": "+2048", "deny_bits": "-1"}).json()
    assert updated["id"] == overwrite["id"]
    assert (updated["allow_bits"], updated["deny_bits"]) == ("2048", "-1")
    member = api.as_("alice").put(
        path,
        {
            "target_type": "member",
            "target_id": uid(api, "bob"),
            "allow_bits": "0",
            "deny_bits": "0",
        },
    )
    assert member.status_code == 200
    assert len(api.as_("bob").get(path).json()) == 2
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[1]
    assert (entry["action"], entry["target_type"], entry["target_id"]) == (
        "overwrite_update",
        "channel",
        channel,
    )
    assert entry["changes"] == {
        "target_type": "role",
        "target_id": everyone_id(api, sid),
        "allow": "+2048",
        "deny": "-1",
    }
    removed = api.as_("alice").delete(f"{path}/role/{everyone_id(api, sid)}")
    assert (removed.status_code, removed.json()) == (200, {"message": "Overwrite removed"})
    assert api.as_("alice").delete(f"{path}/whatever/{uuid.uuid4()}").status_code == 200
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["changes"]) == (
        "overwrite_delete",
        {"target_type": "role", "target_id": everyone_id(api, sid)},
    )
    assert PermissionOverwrite.objects.count() == 1


@pytest.mark.parametrize(
    ("patch", "status", "error"),
    [
        ({"target_type": "user"}, 400, "target_type must be 'role' or 'member'"),
        ({"allow_bits": "1.5"}, 400, "Invalid allow_bits"),
        ({"allow_bits": str(2**63)}, 400, "Invalid allow_bits"),
        ({"deny_bits": ""}, 400, "Invalid deny_bits"),
        ({"target_id": str(uuid.uuid4())}, 404, "Role not found"),
        ({"allow_bits": 0}, 422, None),
        ({"target_id": None}, 422, None),
    ],
)
def test_overwrite_errors(
    api: Api, sid: str, patch: dict[str, object], status: int, error: str | None
) -> None:
    channel = api.as_("alice").get(f"{P}/servers/{sid}/channels").json()[0]["id"]
    body = {
        "target_type": "role",
        "target_id": everyone_id(api, sid),
        "allow_bits": "0",
        "deny_bits": "0",
        **patch,
    }
    response = api.as_("alice").put(f"{P}/channels/{channel}/overwrites", body)
    assert response.status_code == status
    if error:
        assert response.json()["error"] == error


def test_overwrite_targets_must_exist(api: Api, sid: str) -> None:
    channel = api.as_("alice").get(f"{P}/servers/{sid}/channels").json()[0]["id"]
    other = create_server(api, "carol")
    foreign_role = make_role(api, "carol", other["id"], 0)
    base = {"allow_bits": "0", "deny_bits": "0"}
    response = api.as_("alice").put(
        f"{P}/channels/{channel}/overwrites",
        {"target_type": "role", "target_id": foreign_role, **base},
    )
    assert (response.status_code, response.json()["error"]) == (404, "Role not found")
    response = api.as_("alice").put(
        f"{P}/channels/{channel}/overwrites",
        {"target_type": "member", "target_id": uid(api, "carol"), **base},
    )
    assert (response.status_code, response.json()["error"]) == (404, "Member not found")


def test_overwrite_access_rules(api: Api, sid: str) -> None:
    channel = api.as_("alice").get(f"{P}/servers/{sid}/channels").json()[0]["id"]
    path = f"{P}/channels/{channel}/overwrites"
    body = {
        "target_type": "role",
        "target_id": everyone_id(api, sid),
        "allow_bits": "0",
        "deny_bits": "0",
    }
    missing = api.as_("alice").get(f"{P}/channels/{uuid.uuid4()}/overwrites")
    assert (missing.status_code, missing.json()["error"]) == (404, "Channel not found")
    outsider = api.as_("carol").get(path)
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a server member")
    dm = Channel.objects.create(server=None, channel_type="dm")
    ChannelMember.objects.create(channel=dm, user_id=uid(api, "alice"))
    for response in (
        api.as_("alice").get(f"{P}/channels/{dm.id}/overwrites"),
        api.as_("alice").put(f"{P}/channels/{dm.id}/overwrites", body),
    ):
        assert (response.status_code, response.json()["error"]) == (403, "Not a server channel")
    response = api.as_("alice").delete(f"{P}/channels/{dm.id}/overwrites/role/{uuid.uuid4()}")
    assert response.json()["error"] == "Not a server channel"
    denied = api.as_("bob").put(path, body)
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    assert api.as_("bob").delete(f"{path}/role/{uuid.uuid4()}").status_code == 403
    assert api.as_("carol").put(path, body).status_code == 403
    assert api.as_("alice").delete(f"{path}/role/not-a-uuid").status_code == 400
    grant(api, "alice", sid, "bob", MANAGE_CHANNELS, position=3)
    assert api.as_("bob").put(path, body).status_code == 200
    escalate = api.as_("bob").put(path, {**body, "allow_bits": str(int(Permission.BAN_MEMBERS))})
    assert (escalate.status_code, escalate.json()["error"]) == (
        403,
        "Cannot grant permissions you do not have",
    )
    deny_only = api.as_("bob").put(path, {**body, "deny_bits": str(int(Permission.BAN_MEMBERS))})
    assert deny_only.status_code == 200
