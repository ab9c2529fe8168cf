"""Servers and membership (api.md 2.6)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chat.models import ChannelMember, Message, Role, Server, ServerMember
from chat.permissions import ALL, DEFAULT_EVERYONE
from tests.chat.conftest import P, create_server, default_channel, grant, join
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

SERVER_KEYS = {"id", "encrypted_meta", "owner_id", "created_at", "my_permissions"}


@pytest.fixture
def trio(api: Api) -> Api:
    for name in ("alice", "bob", "carol"):
        api.register(name)
    return api


def system_body(message: Message) -> dict[str, str]:
    return json.loads(bytes(message.encrypted_body))


# --- POST /servers -------------------------------------------------------------------------------


def test_create_server_builds_owner_role_and_welcome_channel(trio: Api) -> None:
    server = create_server(trio, "alice", b"meta")
    assert set(server) == SERVER_KEYS | {"system_channel_id"}
    assert server["encrypted_meta"] == b64(b"meta")
    assert server["owner_id"] == trio.users["alice"].id
    assert server["my_permissions"] == str(ALL) == "9223372036854775807"
    assert server["created_at"].endswith("Z")
    assert "icon_url" not in server

    channels = trio.as_("alice").get(f"{P}/servers/{server['id']}/channels").json()
    assert len(channels) == 1
    assert channels[0]["id"] == server["system_channel_id"]
    assert channels[0]["encrypted_meta"] == "d2VsY29tZQ=="
    assert channels[0]["channel_type"] == "text"
    assert channels[0]["position"] == 0
    assert channels[0]["category_id"] is None
    assert channels[0]["is_private"] is False
    assert ChannelMember.objects.filter(
        channel_id=channels[0]["id"], user_id=trio.users["alice"].id
    ).exists()
    everyone = Role.objects.get(server_id=server["id"])
    assert (everyone.name, everyone.permissions, everyone.position, everyone.is_default) == (
        "@everyone",
        DEFAULT_EVERYONE,
        0,
        True,
    )
    assert everyone.color is None


def test_create_server_accepts_empty_meta(trio: Api) -> None:
    assert create_server(trio, "alice", b"")["encrypted_meta"] == ""


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"encrypted_meta": "not base64!"}, 400, "Invalid encrypted_meta encoding"),
        ({"encrypted_meta": "YQ"}, 400, "Invalid encrypted_meta encoding"),
        ({"encrypted_meta": b64(b"x" * 8193)}, 400, "encrypted_meta exceeds maximum size (8KB)"),
        ({}, 422, None),
        ({"encrypted_meta": None}, 422, None),
        ({"encrypted_meta": 5}, 422, None),
        ([], 422, None),
    ],
)
def test_create_server_rejects_bad_bodies(
    trio: Api, body: object, status: int, error: str | None
) -> None:
    response = trio.as_("alice").post(f"{P}/servers", body)
    assert response.status_code == status
    assert response.json()["status"] == status
    if error:
        assert response.json()["error"] == error
    assert not Server.objects.exists()


def test_create_server_needs_json(trio: Api) -> None:
    alice = trio.as_("alice")
    assert alice.post(f"{P}/servers", raw=b"{}", content_type="text/plain").status_code == 415
    assert (
        alice.post(f"{P}/servers", raw=b"{nope", content_type="application/json").status_code == 400
    )
    assert trio.post(f"{P}/servers", {"encrypted_meta": ""}, token="").status_code == 401


def test_exact_8kb_meta_is_accepted(trio: Api) -> None:
    assert create_server(trio, "alice", b"x" * 8192)["encrypted_meta"] == b64(b"x" * 8192)


# --- GET /servers, GET /servers/{id} -------------------------------------------------------------


def test_list_servers_newest_first_with_my_permissions(trio: Api) -> None:
    first = create_server(trio, "alice")
    second = create_server(trio, "bob")
    join(trio, "bob", second["id"], "alice")
    create_server(trio, "carol")  # not alice's
    listed = trio.as_("alice").get(f"{P}/servers").json()
    assert [s["id"] for s in listed] == [second["id"], first["id"]]
    assert listed[0]["my_permissions"] == str(DEFAULT_EVERYONE)
    assert listed[1]["my_permissions"] == str(ALL)
    assert trio.as_("alice").get(f"{P}/servers").status_code == 200


def test_list_servers_empty(trio: Api) -> None:
    assert trio.as_("alice").get(f"{P}/servers").json() == []


def test_get_server_member_only(trio: Api) -> None:
    server = create_server(trio, "alice")
    join(trio, "alice", server["id"], "bob")
    got = trio.as_("bob").get(f"{P}/servers/{server['id']}")
    assert got.status_code == 200
    assert got.json()["id"] == server["id"]
    assert got.json()["my_permissions"] == str(DEFAULT_EVERYONE)
    outsider = trio.as_("carol").get(f"{P}/servers/{server['id']}")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = trio.as_("carol").get(f"{P}/servers/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]) == (403, "Not a member of this server")


def test_malformed_server_id_is_400(trio: Api) -> None:
    response = trio.as_("alice").get(f"{P}/servers/not-a-uuid")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid URL")
    assert trio.get(f"{P}/servers/not-a-uuid", token="").status_code == 401


def test_unknown_method_is_405(trio: Api) -> None:
    server = create_server(trio, "alice")
    assert trio.as_("alice").put(f"{P}/servers/{server['id']}", {}).status_code == 405


# --- PATCH /servers/{id} -------------------------------------------------------------------------


def test_patch_server_updates_given_fields_and_audits(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    other = trio.as_("alice").post(f"{P}/servers/{sid}/channels", {"encrypted_meta": ""}).json()
    response = trio.as_("alice").patch(
        f"{P}/servers/{sid}", {"system_channel_id": other["id"], "encrypted_meta": b64(b"new")}
    )
    assert (response.status_code, response.json()) == (200, {"ok": True})
    got = trio.as_("alice").get(f"{P}/servers/{sid}").json()
    assert got["system_channel_id"] == other["id"]
    assert got["encrypted_meta"] == b64(b"new")
    # null means unchanged
    trio.as_("alice").patch(f"{P}/servers/{sid}", {"system_channel_id": None})
    assert trio.as_("alice").get(f"{P}/servers/{sid}").json()["system_channel_id"] == other["id"]
    log = trio.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()
    updates = [e for e in log if e["action"] == "server_update"]
    assert updates[0]["changes"] == {"system_channel_id": None, "encrypted_meta_updated": False}
    assert updates[1]["changes"] == {
        "system_channel_id": other["id"],
        "encrypted_meta_updated": True,
    }
    assert updates[1]["target_type"] == "server"
    assert updates[1]["target_id"] == sid


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"encrypted_meta": "%%%"}, "Invalid base64 for encrypted_meta"),
        ({"encrypted_meta": ""}, "encrypted_meta must be between 1 and 4096 bytes"),
        ({"encrypted_meta": b64(b"x" * 4097)}, "encrypted_meta must be between 1 and 4096 bytes"),
    ],
)
def test_patch_server_meta_rules(trio: Api, body: dict[str, str], error: str) -> None:
    server = create_server(trio, "alice")
    response = trio.as_("alice").patch(f"{P}/servers/{server['id']}", body)
    assert (response.status_code, response.json()["error"]) == (400, error)


def test_patch_server_system_channel_must_belong(trio: Api) -> None:
    mine = create_server(trio, "alice")
    theirs = create_server(trio, "bob")
    for channel_id in (theirs["system_channel_id"], str(uuid.uuid4())):
        response = trio.as_("alice").patch(
            f"{P}/servers/{mine['id']}", {"system_channel_id": channel_id}
        )
        assert response.status_code == 400
        assert response.json()["error"] == "Channel does not belong to this server"


def test_patch_server_permissions(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    denied = trio.as_("bob").patch(f"{P}/servers/{sid}", {})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing MANAGE_SERVER permission")
    outsider = trio.as_("carol").patch(f"{P}/servers/{sid}", {})
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = trio.as_("carol").patch(f"{P}/servers/{uuid.uuid4()}", {})
    assert missing.status_code == 403
    grant(trio, "alice", sid, "bob", 2)  # MANAGE_SERVER
    assert trio.as_("bob").patch(f"{P}/servers/{sid}", {}).status_code == 200
    assert trio.as_("bob").patch(f"{P}/servers/{sid}", {"encrypted_meta": 1}).status_code == 422


# --- DELETE /servers/{id} ------------------------------------------------------------------------


def test_delete_server_owner_only(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    grant(trio, "alice", sid, "bob", 1)  # even an administrator
    denied = trio.as_("bob").delete(f"{P}/servers/{sid}")
    assert denied.status_code == 403
    assert denied.json()["error"] == "Only the server owner can delete the server"
    assert trio.as_("carol").delete(f"{P}/servers/{sid}").status_code == 403
    missing = trio.as_("alice").delete(f"{P}/servers/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    done = trio.as_("alice").delete(f"{P}/servers/{sid}")
    assert (done.status_code, done.json()) == (200, {"ok": True})
    assert not Server.objects.filter(id=sid).exists()
    assert not ServerMember.objects.filter(server_id=sid).exists()
    assert trio.as_("bob").get(f"{P}/servers").json() == []


# --- GET /servers/{id}/members/@me/permissions ---------------------------------------------------


def test_my_permissions(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    owner = trio.as_("alice").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert owner == {"permissions": str(ALL), "is_owner": True}
    member = trio.as_("bob").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert member == {"permissions": "1731456", "is_owner": False}
    grant(trio, "alice", sid, "bob", 1 << 22)
    member = trio.as_("bob").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert member["permissions"] == str(DEFAULT_EVERYONE | 1 << 22)
    grant(trio, "alice", sid, "bob", 1, position=2)
    member = trio.as_("bob").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert member == {"permissions": str(ALL), "is_owner": False}
    outsider = trio.as_("carol").get(f"{P}/servers/{sid}/members/@me/permissions")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")


# --- DELETE /servers/{id}/members/@me (leave) ----------------------------------------------------


def test_leave_removes_membership_and_posts_member_left(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    trio.as_("alice").post(f"{P}/servers/{sid}/channels", {"encrypted_meta": ""})
    join(trio, "alice", sid, "bob")
    bob = trio.users["bob"]
    User.objects.filter(id=bob.id).update(display_name="Bobby")
    role_id = grant(trio, "alice", sid, "bob", 0)
    assert ChannelMember.objects.filter(user_id=bob.id, channel__server_id=sid).count() == 2
    response = trio.as_("bob").delete(f"{P}/servers/{sid}/members/@me")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert not ServerMember.objects.filter(server_id=sid, user_id=bob.id).exists()
    assert not ChannelMember.objects.filter(user_id=bob.id, channel__server_id=sid).exists()
    # assigned roles go with the membership
    assert not Role.objects.get(id=role_id).assignments.filter(user_id=bob.id).exists()
    message = Message.objects.filter(channel_id=server["system_channel_id"]).latest("timestamp")
    assert message.message_type == "system"
    assert system_body(message) == {"event": "member_left", "user_id": bob.id, "username": "bob"}
    again = trio.as_("bob").delete(f"{P}/servers/{sid}/members/@me")
    assert (again.status_code, again.json()["error"]) == (403, "Not a member of this server")


def test_leave_without_system_channel_posts_nothing(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    Server.objects.filter(id=sid).update(system_channel=None)
    before = Message.objects.count()
    assert trio.as_("bob").delete(f"{P}/servers/{sid}/members/@me").status_code == 200
    assert Message.objects.count() == before


def test_owner_cannot_leave_while_others_remain(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    response = trio.as_("alice").delete(f"{P}/servers/{sid}/members/@me")
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Server owner cannot leave while other members remain. "
        "Transfer ownership or delete the server instead."
    )
    trio.as_("bob").delete(f"{P}/servers/{sid}/members/@me")
    response = trio.as_("alice").delete(f"{P}/servers/{sid}/members/@me")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert not Server.objects.filter(id=sid).exists()


def test_leave_missing_server_is_404(trio: Api) -> None:
    response = trio.as_("alice").delete(f"{P}/servers/{uuid.uuid4()}/members/@me")
    assert (response.status_code, response.json()["error"]) == (404, "Server not found")


# --- GET /servers/{id}/members -------------------------------------------------------------------


def test_members_list_shape_order_and_paging(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob", "carol")
    role_id = grant(trio, "alice", sid, "bob", 0)
    trio.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": "B"})
    members = trio.as_("carol").get(f"{P}/servers/{sid}/members").json()
    assert [m["username"] for m in members] == ["alice", "bob", "carol"]
    assert set(members[0]) == {
        "user_id",
        "username",
        "display_name",
        "avatar_url",
        "joined_at",
        "role_ids",
    }
    assert members[1]["nickname"] == "B"
    assert members[1]["role_ids"] == [role_id]
    assert members[0]["role_ids"] == []
    page = trio.as_("carol").get(f"{P}/servers/{sid}/members?limit=1&offset=1").json()
    assert [m["username"] for m in page] == ["bob"]
    assert len(trio.as_("carol").get(f"{P}/servers/{sid}/members?limit=0").json()) == 1
    assert len(trio.as_("carol").get(f"{P}/servers/{sid}/members?offset=-5").json()) == 3
    bad = trio.as_("carol").get(f"{P}/servers/{sid}/members?limit=abc")
    assert bad.status_code == 400


def test_members_list_shows_running_timeouts_only(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    bob = trio.users["bob"].id
    trio.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/timeout", {"duration_seconds": 60})
    members = {m["username"]: m for m in trio.as_("alice").get(f"{P}/servers/{sid}/members").json()}
    assert members["bob"]["timed_out_until"].endswith("Z")
    assert "timed_out_until" not in members["alice"]
    ServerMember.objects.filter(user_id=bob).update(timed_out_until=timezone.now() - timedelta(1))
    members = {m["username"]: m for m in trio.as_("alice").get(f"{P}/servers/{sid}/members").json()}
    assert "timed_out_until" not in members["bob"]


def test_members_list_needs_membership(trio: Api) -> None:
    server = create_server(trio, "alice")
    response = trio.as_("bob").get(f"{P}/servers/{server['id']}/members")
    assert (response.status_code, response.json()["error"]) == (403, "Not a member of this server")


# --- DELETE /servers/{id}/members/{user_id} (kick) -----------------------------------------------


def test_kick_removes_member_posts_member_kicked_and_audits(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob")
    bob = trio.users["bob"].id
    response = trio.as_("alice").delete(f"{P}/servers/{sid}/members/{bob}")
    assert (response.status_code, response.json()) == (200, {"kicked": True})
    assert not ServerMember.objects.filter(server_id=sid, user_id=bob).exists()
    assert not ChannelMember.objects.filter(channel__server_id=sid, user_id=bob).exists()
    message = Message.objects.filter(channel_id=default_channel(trio, "alice", sid)).latest(
        "timestamp"
    )
    assert system_body(message) == {"event": "member_kicked", "user_id": bob, "username": "bob"}
    entry = trio.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert entry["action"] == "member_kick"
    assert (entry["target_type"], entry["target_id"]) == ("member", bob)
    assert entry["changes"] == {"username": "bob"}
    # idempotent: kicking a non-member changes nothing
    count = Message.objects.count()
    again = trio.as_("alice").delete(f"{P}/servers/{sid}/members/{bob}")
    assert (again.status_code, again.json()) == (200, {"kicked": True})
    assert Message.objects.count() == count


def test_kick_rules(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob", "carol")
    alice, bob, carol = (trio.users[n].id for n in ("alice", "bob", "carol"))
    denied = trio.as_("bob").delete(f"{P}/servers/{sid}/members/{carol}")
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    grant(trio, "alice", sid, "bob", 16, position=2)  # KICK_MEMBERS
    self_kick = trio.as_("bob").delete(f"{P}/servers/{sid}/members/{bob}")
    assert (self_kick.status_code, self_kick.json()["error"]) == (400, "Cannot kick yourself")
    owner = trio.as_("bob").delete(f"{P}/servers/{sid}/members/{alice}")
    assert (owner.status_code, owner.json()["error"]) == (403, "Cannot kick the server owner")
    grant(trio, "alice", sid, "carol", 0, position=2)  # same rank as bob
    equal = trio.as_("bob").delete(f"{P}/servers/{sid}/members/{carol}")
    assert equal.status_code == 403
    assert equal.json()["error"] == "Cannot kick a member with equal or higher role"
    assert trio.as_("alice").delete(f"{P}/servers/{sid}/members/{carol}").status_code == 200
    missing = trio.as_("bob").delete(f"{P}/servers/{uuid.uuid4()}/members/{carol}")
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    bad = trio.as_("bob").delete(f"{P}/servers/{sid}/members/xyz")
    assert bad.status_code == 400


def test_kick_below_rank_is_allowed(trio: Api) -> None:
    server = create_server(trio, "alice")
    sid = server["id"]
    join(trio, "alice", sid, "bob", "carol")
    grant(trio, "alice", sid, "bob", 16, position=3)
    grant(trio, "alice", sid, "carol", 0, position=2)
    carol = trio.users["carol"].id
    assert trio.as_("bob").delete(f"{P}/servers/{sid}/members/{carol}").status_code == 200
