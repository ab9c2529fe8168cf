"""Server channels (api.md 2.7) and PUT /channels/{id}/category (2.8)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chat.models import (
    Channel,
    ChannelMember,
    ChannelType,
    Message,
    PermissionOverwrite,
    Report,
    Server,
)
from chat.permissions import Permission
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

CHANNEL_KEYS = {
    "id", "server_id", "encrypted_meta", "channel_type", "position", "created_at",
    "category_id", "dm_status", "is_private",
}  # fmt: skip
VIEW = int(Permission.VIEW_CHANNELS)
MANAGE_CHANNELS = int(Permission.MANAGE_CHANNELS)


@pytest.fixture
def world(api: Api) -> dict[str, str]:
    """alice owns a server; bob is a member; carol is not."""
    for name in ("alice", "bob", "carol"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")
    return {"sid": server["id"], "general": server["system_channel_id"]}


def new_channel(api: Api, user: str, sid: str, **body: object) -> dict[str, Any]:
    response = api.as_(user).post(
        f"{P}/servers/{sid}/channels", {"encrypted_meta": b64(b"chan"), **body}
    )
    assert response.status_code == 200, response
    return response.json()


def hide_from_everyone(api: Api, sid: str, channel_id: str) -> None:
    everyone = next(r for r in api.as_("alice").get(f"{P}/servers/{sid}/roles").json())
    response = api.as_("alice").put(
        f"{P}/channels/{channel_id}/overwrites",
        {
            "target_type": "role",
            "target_id": everyone["id"],
            "allow_bits": "0",
            "deny_bits": str(VIEW),
        },
    )
    assert response.status_code == 200, response


def dm_channel(api: Api, *users: str) -> Channel:
    channel = Channel.objects.create(server=None, channel_type=ChannelType.DM)
    for user in users:
        ChannelMember.objects.create(channel=channel, user_id=api.users[user].id)
    return channel


# --- GET /servers/{id}/channels ------------------------------------------------------------------


def test_list_channels_by_position(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    third = new_channel(api, "alice", sid, position=5)
    second = new_channel(api, "alice", sid, position=2, channel_type="voice")
    listed = api.as_("bob").get(f"{P}/servers/{sid}/channels").json()
    assert [c["id"] for c in listed] == [world["general"], second["id"], third["id"]]
    assert set(listed[0]) == CHANNEL_KEYS
    assert listed[1]["channel_type"] == "voice"
    assert listed[0]["dm_status"] == "active"


def test_list_channels_hides_what_the_member_cannot_view(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    secret = new_channel(api, "alice", sid, is_private=True)
    assert secret["is_private"] is True
    hide_from_everyone(api, sid, secret["id"])
    bob_sees = [c["id"] for c in api.as_("bob").get(f"{P}/servers/{sid}/channels").json()]
    assert bob_sees == [world["general"]]
    alice_sees = [c["id"] for c in api.as_("alice").get(f"{P}/servers/{sid}/channels").json()]
    assert alice_sees == [world["general"], secret["id"]]
    # a member overwrite lets bob back in
    api.as_("alice").put(
        f"{P}/channels/{secret['id']}/overwrites",
        {
            "target_type": "member",
            "target_id": api.users["bob"].id,
            "allow_bits": str(VIEW),
            "deny_bits": "0",
        },
    )
    bob_sees = [c["id"] for c in api.as_("bob").get(f"{P}/servers/{sid}/channels").json()]
    assert bob_sees == [world["general"], secret["id"]]


def test_list_channels_needs_membership(api: Api, world: dict[str, str]) -> None:
    for sid in (world["sid"], str(uuid.uuid4())):
        response = api.as_("carol").get(f"{P}/servers/{sid}/channels")
        assert (response.status_code, response.json()["error"]) == (
            403,
            "Not a member of this server",
        )


# --- POST /servers/{id}/channels -----------------------------------------------------------------


def test_create_channel_defaults_audit_and_creator_row(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    channel = new_channel(api, "alice", sid)
    assert set(channel) == CHANNEL_KEYS
    assert channel["server_id"] == sid
    assert channel["channel_type"] == "text"
    assert channel["position"] == 0
    assert channel["category_id"] is None
    assert channel["is_private"] is False
    assert channel["dm_status"] == "active"
    members = api.as_("alice").get(f"{P}/channels/{channel['id']}/members").json()
    assert [m["username"] for m in members] == ["alice"]  # existing members are not added
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_type"], entry["target_id"]) == (
        "channel_create",
        "channel",
        channel["id"],
    )
    assert entry["changes"] == {"channel_type": "text"}


def test_create_channel_in_category(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    category = api.as_("alice").post(f"{P}/servers/{sid}/categories", {"name": "c"}).json()
    channel = new_channel(api, "alice", sid, category_id=category["id"], position=3)
    assert channel["category_id"] == category["id"]
    assert channel["position"] == 3


@pytest.mark.parametrize(
    ("extra", "status", "error"),
    [
        ({"encrypted_meta": "!!"}, 400, "Invalid encrypted_meta encoding"),
        (
            {"encrypted_meta": b64(b"x" * 8193)},
            400,
            "encrypted_meta exceeds maximum size (8KB)",
        ),
        ({"channel_type": "dm"}, 400, "channel_type must be 'text' or 'voice'"),
        ({"channel_type": "forum"}, 400, "channel_type must be 'text' or 'voice'"),
        ({"category_id": str(uuid.uuid4())}, 404, "Category not found"),
        ({"position": "1"}, 422, None),
        ({"position": 2**31}, 422, None),
        ({"is_private": "yes"}, 422, None),
        ({"category_id": "nope"}, 422, None),
        ({"encrypted_meta": None}, 422, None),
    ],
)
def test_create_channel_errors(
    api: Api, world: dict[str, str], extra: dict[str, object], status: int, error: str | None
) -> None:
    body = {"encrypted_meta": b64(b"m"), **extra}
    response = api.as_("alice").post(f"{P}/servers/{world['sid']}/channels", body)
    assert response.status_code == status
    if error:
        assert response.json()["error"] == error
    assert Channel.objects.filter(server_id=world["sid"]).count() == 1


def test_create_channel_rejects_another_servers_category(api: Api, world: dict[str, str]) -> None:
    other = create_server(api, "carol")
    category = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "x"}).json()
    response = api.as_("alice").post(
        f"{P}/servers/{world['sid']}/channels",
        {"encrypted_meta": "", "category_id": category["id"]},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Category does not belong to this server"


def test_create_channel_permissions(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    body = {"encrypted_meta": ""}
    denied = api.as_("bob").post(f"{P}/servers/{sid}/channels", body)
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    outsider = api.as_("carol").post(f"{P}/servers/{sid}/channels", body)
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = api.as_("carol").post(f"{P}/servers/{uuid.uuid4()}/channels", body)
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    grant(api, "alice", sid, "bob", MANAGE_CHANNELS)
    assert api.as_("bob").post(f"{P}/servers/{sid}/channels", body).status_code == 200


# --- PUT /servers/{id}/channels/reorder ----------------------------------------------------------


def test_reorder_channels(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    a = new_channel(api, "alice", sid, position=1)
    b = new_channel(api, "alice", sid, position=2)
    category = api.as_("alice").post(f"{P}/servers/{sid}/categories", {"name": "c"}).json()
    foreign = create_server(api, "carol")["system_channel_id"]
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/channels/reorder",
        {
            "order": [
                {"id": b["id"], "position": 0, "category_id": category["id"]},
                {"id": a["id"], "position": 7},
                {"id": world["general"], "position": 9},
                {"id": foreign, "position": 99},
                {"id": str(uuid.uuid4()), "position": 1},
            ]
        },
    )
    assert (response.status_code, response.json()) == (200, {"message": "Channels reordered"})
    listed = api.as_("alice").get(f"{P}/servers/{sid}/channels").json()
    assert [(c["id"], c["position"]) for c in listed] == [
        (b["id"], 0),
        (a["id"], 7),
        (world["general"], 9),
    ]
    assert listed[0]["category_id"] == category["id"]
    assert Channel.objects.get(id=foreign).position == 0
    # an absent category_id takes the channel out of its category
    api.as_("alice").put(
        f"{P}/servers/{sid}/channels/reorder", {"order": [{"id": b["id"], "position": 0}]}
    )
    assert Channel.objects.get(id=b["id"]).category_id is None


def test_reorder_channels_rejects_foreign_category(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    other = create_server(api, "carol")
    category = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "x"}).json()
    response = api.as_("alice").put(
        f"{P}/servers/{sid}/channels/reorder",
        {"order": [{"id": world["general"], "position": 1, "category_id": category["id"]}]},
    )
    assert response.status_code == 403
    missing = api.as_("alice").put(
        f"{P}/servers/{sid}/channels/reorder",
        {"order": [{"id": world["general"], "position": 1, "category_id": str(uuid.uuid4())}]},
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "Category not found")
    assert Channel.objects.get(id=world["general"]).position == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"order": {}}, {"order": [{"id": "x", "position": 1}]}, {"order": [{"position": 1}]}],
)
def test_reorder_channels_bad_bodies(api: Api, world: dict[str, str], body: object) -> None:
    response = api.as_("alice").put(f"{P}/servers/{world['sid']}/channels/reorder", body)
    assert response.status_code == 422


def test_reorder_channels_permissions(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    body: dict[str, list[object]] = {"order": []}
    assert api.as_("bob").put(f"{P}/servers/{sid}/channels/reorder", body).status_code == 403
    assert api.as_("carol").put(f"{P}/servers/{sid}/channels/reorder", body).status_code == 403
    missing = api.as_("alice").put(f"{P}/servers/{uuid.uuid4()}/channels/reorder", body)
    assert missing.status_code == 404


# --- PUT /channels/{id} --------------------------------------------------------------------------


def test_rename_channel(api: Api, world: dict[str, str]) -> None:
    response = api.as_("alice").put(
        f"{P}/channels/{world['general']}", {"encrypted_meta": b64(b"renamed")}
    )
    assert response.status_code == 200
    assert response.json()["encrypted_meta"] == b64(b"renamed")
    assert set(response.json()) == CHANNEL_KEYS
    entry = api.as_("alice").get(f"{P}/servers/{world['sid']}/audit-log").json()[0]
    assert (entry["action"], entry["target_id"], entry["changes"]) == (
        "channel_update",
        world["general"],
        None,
    )


def test_rename_channel_errors(api: Api, world: dict[str, str]) -> None:
    general = world["general"]
    body = {"encrypted_meta": ""}
    missing = api.as_("alice").put(f"{P}/channels/{uuid.uuid4()}", body)
    assert (missing.status_code, missing.json()["error"]) == (404, "Channel not found")
    dm = dm_channel(api, "alice", "bob")
    direct = api.as_("alice").put(f"{P}/channels/{dm.id}", body)
    assert (direct.status_code, direct.json()["error"]) == (403, "Cannot rename DM channels")
    denied = api.as_("bob").put(f"{P}/channels/{general}", body)
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    outsider = api.as_("carol").put(f"{P}/channels/{general}", body)
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    bad = api.as_("alice").put(f"{P}/channels/{general}", {"encrypted_meta": "*"})
    assert (bad.status_code, bad.json()["error"]) == (400, "Invalid encrypted_meta encoding")
    big = api.as_("alice").put(f"{P}/channels/{general}", {"encrypted_meta": b64(b"x" * 8193)})
    assert big.json()["error"] == "encrypted_meta exceeds maximum size (8KB)"
    assert api.as_("alice").put(f"{P}/channels/nope", body).status_code == 400


def test_hidden_channel_answers_like_a_missing_one(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    grant(api, "alice", sid, "bob", MANAGE_CHANNELS)
    secret = new_channel(api, "alice", sid, is_private=True)
    hide_from_everyone(api, sid, secret["id"])
    for method, path, body in [
        ("put", f"{P}/channels/{secret['id']}", {"encrypted_meta": ""}),
        ("delete", f"{P}/channels/{secret['id']}", None),
        ("put", f"{P}/channels/{secret['id']}/category", {}),
        ("get", f"{P}/channels/{secret['id']}/overwrites", None),
        ("post", f"{P}/channels/{secret['id']}/join", None),
    ]:
        response = api.as_("bob").request(method, path, body)
        assert (response.status_code, response.json()["error"]) == (404, "Channel not found"), path
    members = api.as_("bob").get(f"{P}/channels/{secret['id']}/members")
    assert (members.status_code, members.json()["error"]) == (403, "Not a member of this channel")


# --- DELETE /channels/{id} -----------------------------------------------------------------------


def test_delete_channel_cascades_and_clears_system_channel(api: Api, world: dict[str, str]) -> None:
    sid, general = world["sid"], world["general"]
    Report.objects.create(
        reporter_id=api.users["bob"].id,
        message_id=uuid.uuid4(),
        channel_id=general,
        reason="r" * 10,
    )
    PermissionOverwrite.objects.create(
        channel_id=general, target_type="member", target_id=api.users["bob"].id
    )
    response = api.as_("alice").delete(f"{P}/channels/{general}")
    assert (response.status_code, response.json()) == (200, {"message": "Channel deleted"})
    assert not Channel.objects.filter(id=general).exists()
    assert not ChannelMember.objects.filter(channel_id=general).exists()
    assert not Report.objects.filter(channel_id=general).exists()
    assert not Message.objects.filter(channel_id=general).exists()
    assert Server.objects.get(id=sid).system_channel_id is None
    assert "system_channel_id" not in api.as_("alice").get(f"{P}/servers/{sid}").json()
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_type"], entry["target_id"]) == (
        "channel_delete",
        "channel",
        general,
    )


def test_delete_channel_errors(api: Api, world: dict[str, str]) -> None:
    general = world["general"]
    missing = api.as_("alice").delete(f"{P}/channels/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]) == (404, "Channel not found")
    dm = dm_channel(api, "alice", "bob")
    direct = api.as_("alice").delete(f"{P}/channels/{dm.id}")
    assert (direct.status_code, direct.json()["error"]) == (403, "Cannot delete DM channels")
    assert api.as_("bob").delete(f"{P}/channels/{general}").status_code == 403
    assert api.as_("carol").delete(f"{P}/channels/{general}").status_code == 403
    assert Channel.objects.filter(id=general).exists()


# --- POST /channels/{id}/join --------------------------------------------------------------------


def test_join_server_channel(api: Api, world: dict[str, str]) -> None:
    sid = world["sid"]
    channel = new_channel(api, "alice", sid)
    response = api.as_("bob").post(f"{P}/channels/{channel['id']}/join")
    assert (response.status_code, response.json()) == (200, {"message": "Joined channel"})
    row = ChannelMember.objects.get(channel_id=channel["id"], user_id=api.users["bob"].id)
    again = api.as_("bob").post(f"{P}/channels/{channel['id']}/join")
    assert again.status_code == 200
    refreshed = ChannelMember.objects.get(channel_id=channel["id"], user_id=api.users["bob"].id)
    assert refreshed.joined_at >= row.joined_at
    outsider = api.as_("carol").post(f"{P}/channels/{channel['id']}/join")
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of the server")
    missing = api.as_("bob").post(f"{P}/channels/{uuid.uuid4()}/join")
    assert (missing.status_code, missing.json()["error"]) == (404, "Channel not found")


def test_join_dm_needs_to_be_a_participant(api: Api, world: dict[str, str]) -> None:
    dm = dm_channel(api, "alice", "bob")
    intruder = api.as_("carol").post(f"{P}/channels/{dm.id}/join")
    assert (intruder.status_code, intruder.json()["error"]) == (403, "Not a member of this channel")
    assert not ChannelMember.objects.filter(channel=dm, user_id=api.users["carol"].id).exists()
    assert api.as_("bob").post(f"{P}/channels/{dm.id}/join").status_code == 200


# --- GET /channels/{id}/members ------------------------------------------------------------------


def test_channel_members(api: Api, world: dict[str, str]) -> None:
    general = world["general"]
    members = api.as_("bob").get(f"{P}/channels/{general}/members").json()
    assert [m["username"] for m in members] == ["alice", "bob"]
    assert set(members[0]) == {"user_id", "username", "display_name", "avatar_url", "joined_at"}
    for channel_id in (general, str(uuid.uuid4())):
        denied = api.as_("carol").get(f"{P}/channels/{channel_id}/members")
        assert (denied.status_code, denied.json()["error"]) == (403, "Not a member of this channel")
    dm = dm_channel(api, "alice", "carol")
    assert len(api.as_("carol").get(f"{P}/channels/{dm.id}/members").json()) == 2
    assert api.as_("bob").get(f"{P}/channels/{dm.id}/members").status_code == 403


# --- PUT /channels/{id}/category -----------------------------------------------------------------


def test_set_channel_category(api: Api, world: dict[str, str]) -> None:
    sid, general = world["sid"], world["general"]
    category = api.as_("alice").post(f"{P}/servers/{sid}/categories", {"name": "c"}).json()
    response = api.as_("alice").put(
        f"{P}/channels/{general}/category", {"category_id": category["id"]}
    )
    assert response.status_code == 200
    assert response.json()["category_id"] == category["id"]
    cleared = api.as_("alice").put(f"{P}/channels/{general}/category", {})
    assert cleared.json()["category_id"] is None


def test_set_channel_category_errors(api: Api, world: dict[str, str]) -> None:
    sid, general = world["sid"], world["general"]
    missing = api.as_("alice").put(f"{P}/channels/{uuid.uuid4()}/category", {})
    assert (missing.status_code, missing.json()["error"]) == (404, "Channel not found")
    dm = dm_channel(api, "alice", "bob")
    direct = api.as_("alice").put(f"{P}/channels/{dm.id}/category", {})
    assert (direct.status_code, direct.json()["error"]) == (
        403,
        "Cannot set category on DM channels",
    )
    assert api.as_("bob").put(f"{P}/channels/{general}/category", {}).status_code == 403
    unknown = api.as_("alice").put(
        f"{P}/channels/{general}/category", {"category_id": str(uuid.uuid4())}
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Category not found")
    other = create_server(api, "carol")
    foreign = api.as_("carol").post(f"{P}/servers/{other['id']}/categories", {"name": "x"}).json()
    response = api.as_("alice").put(
        f"{P}/channels/{general}/category", {"category_id": foreign["id"]}
    )
    assert (response.status_code, response.json()["error"]) == (
        403,
        "Category does not belong to this server",
    )
    assert api.as_("alice").put(f"{P}/channels/{general}/category", None).status_code == 400
    assert api.as_("alice").get(f"{P}/servers/{sid}/channels").json()[0]["category_id"] is None
