"""The events and gateway commands each server action publishes (websocket.md 4.3 and
docs/realtime.md "Events added by this port"): type, payload and audience."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from chat.models import Role, ServerMember
from chat.permissions import Permission
from realtime.events import Audience, to_channels, to_servers, to_users
from tests.chat.conftest import Captured, P, create_server, grant, join, make_role
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

Capture = Callable[[], AbstractContextManager[Captured]]


@pytest.fixture
def world(api: Api) -> dict[str, uuid.UUID]:
    """alice owns the server; bob and carol are members; dave is not."""
    for name in ("alice", "bob", "carol", "dave"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob", "carol")
    ids = {name: uuid.UUID(user.id) for name, user in api.users.items()}
    return {
        **ids,
        "sid": uuid.UUID(server["id"]),
        "general": uuid.UUID(server["system_channel_id"]),
    }


def everyone_in(sid: uuid.UUID) -> Audience:
    """A permission change: the server's subscribers and every member's connections (a member
    who could see no channel there is subscribed to none, and may see one now)."""
    members = ServerMember.objects.filter(server_id=sid).values_list("user_id", flat=True)
    return to_servers(sid) | to_users(list(members))


def only(got: Captured, event_type: str) -> tuple[object, Audience]:
    matching = got.of_type(event_type)
    assert len(matching) == 1, got.types()
    return matching[0].payload, matching[0].audience


def recheck(got: Captured) -> list[tuple[dict[str, object], Audience]]:
    return [(m, a) for a, m in got.controls if m["action"] == "recheck"]


def system_event(got: Captured) -> dict[str, object]:
    payload, _ = only(got, "NewMessage")
    assert isinstance(payload, dict)
    assert payload["message_type"] == "system"
    assert payload["sender_token"] == ""
    return json.loads(base64.b64decode(payload["encrypted_body"]))


def test_server_create_sends_nothing(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    with capture() as got:
        create_server(api, "bob")
    assert got.quiet


def test_patch_server_sends_server_updated(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    sid = world["sid"]
    with capture() as got:
        api.as_("alice").patch(f"{P}/servers/{sid}", {"encrypted_meta": b64(b"x")})
    assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, to_servers(sid))
    assert got.controls == []


def test_failed_action_sends_nothing(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    with capture() as got:
        response = api.as_("bob").patch(f"{P}/servers/{world['sid']}", {})
    assert response.status_code == 403
    assert got.quiet


def test_server_delete_tells_every_member(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    sid = world["sid"]
    with capture() as got:
        api.as_("alice").delete(f"{P}/servers/{sid}")
    members = to_users(world["alice"], world["bob"], world["carol"])
    assert only(got, "ServerDeleted") == ({"server_id": str(sid)}, to_servers(sid) | members)
    assert recheck(got) == [
        (
            {"type": "gateway.control", "action": "recheck", "server_id": str(sid)},
            to_servers(sid) | members,
        )
    ]


def test_owner_leaving_alone_deletes_the_server(api: Api, capture: Capture) -> None:
    api.register("solo")
    server = create_server(api, "solo")
    with capture() as got:
        api.as_("solo").delete(f"{P}/servers/{server['id']}/members/@me")
    sid = uuid.UUID(server["id"])
    assert got.types() == ["ServerDeleted"]  # no member_left message
    assert got.events[0].audience == to_servers(sid) | to_users(uuid.UUID(api.users["solo"].id))


def test_leave(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, bob = world["sid"], world["bob"]
    with capture() as got:
        api.as_("bob").delete(f"{P}/servers/{sid}/members/@me")
    assert system_event(got) == {"event": "member_left", "user_id": str(bob), "username": "bob"}
    assert got.of_type("NewMessage")[0].audience == to_channels(world["general"])
    payload = {"server_id": str(sid), "user_id": str(bob)}
    assert only(got, "MemberRemoved") == (payload, to_servers(sid) | to_users(bob))
    assert [a for _, a in recheck(got)] == [to_users(bob)]
    assert recheck(got)[0][0]["server_id"] == str(sid)


def test_kick(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, bob = world["sid"], world["bob"]
    with capture() as got:
        api.as_("alice").delete(f"{P}/servers/{sid}/members/{bob}")
    assert system_event(got) == {"event": "member_kicked", "user_id": str(bob), "username": "bob"}
    assert got.of_type("NewMessage")[0].audience == to_channels(world["general"])
    payload = {"server_id": str(sid), "user_id": str(bob)}
    assert only(got, "MemberRemoved") == (payload, to_servers(sid) | to_users(bob))
    assert [a for _, a in recheck(got)] == [to_users(bob)]
    # the system message goes out before the recheck drops the kicked user's subscriptions
    assert got.types() == ["NewMessage", "MemberRemoved"]


def test_kick_of_a_non_member_sends_nothing(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    with capture() as got:
        api.as_("alice").delete(f"{P}/servers/{world['sid']}/members/{world['dave']}")
    assert got.quiet


def test_ban_and_unban(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, bob = world["sid"], world["bob"]
    with capture() as got:
        api.as_("alice").post(f"{P}/servers/{sid}/bans/{bob}", {})
    assert system_event(got) == {"event": "member_banned", "user_id": str(bob), "username": "bob"}
    payload = {"server_id": str(sid), "user_id": str(bob)}
    assert only(got, "MemberBanned") == (payload, to_servers(sid) | to_users(bob))
    assert [a for _, a in recheck(got)] == [to_users(bob)]
    with capture() as got:
        api.as_("alice").delete(f"{P}/servers/{sid}/bans/{bob}")
    assert only(got, "MemberUnbanned") == (payload, to_servers(sid))
    with capture() as got:
        api.as_("alice").delete(f"{P}/servers/{sid}/bans/{bob}")
    assert got.events == []


def test_join_by_invite(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, dave = world["sid"], world["dave"]
    code = api.as_("alice").post(f"{P}/servers/{sid}/invites", {}).json()["code"]
    with capture() as got:
        api.as_("dave").post(f"{P}/invites/{code}/join")
    assert system_event(got) == {"event": "member_joined", "user_id": str(dave), "username": "dave"}
    assert got.of_type("NewMessage")[0].audience == to_channels(world["general"])
    payload = {"server_id": str(sid), "user_id": str(dave)}
    assert only(got, "MemberJoined") == (payload, to_servers(sid) | to_users(dave))
    assert got.controls == []


def test_timeout_reaches_every_member(
    api: Api, world: dict[str, uuid.UUID], capture: Capture
) -> None:
    sid, bob = world["sid"], world["bob"]
    with capture() as got:
        response = api.as_("alice").put(
            f"{P}/servers/{sid}/members/{bob}/timeout", {"duration_seconds": 60}
        )
    payload, audience = only(got, "MemberTimedOut")
    assert payload == {
        "server_id": str(sid),
        "user_id": str(bob),
        "timed_out_until": response.json()["timed_out_until"],
    }
    assert audience == to_users(world["alice"], world["bob"], world["carol"])
    with capture() as got:
        api.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/timeout", {"duration_seconds": 0})
    assert only(got, "MemberTimedOut")[0]["timed_out_until"] is None  # type: ignore[index]


def test_nicknames(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, bob = world["sid"], world["bob"]
    with capture() as got:
        api.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": "B"})
    payload: dict[str, str | None] = {"server_id": str(sid), "user_id": str(bob), "nickname": "B"}
    assert only(got, "MemberNicknameUpdated") == (payload, to_servers(sid) | to_users(bob))
    with capture() as got:
        api.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/nickname", {})
    payload = {"server_id": str(sid), "user_id": str(bob), "nickname": None}
    assert only(got, "MemberNicknameUpdated") == (payload, to_servers(sid) | to_users(bob))


def test_role_changes(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid = world["sid"]
    with capture() as got:
        role_id = make_role(api, "alice", str(sid), 0)
    assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, to_servers(sid))
    assert got.controls == []  # nobody holds a new role yet
    for action in (
        lambda: api.as_("alice").put(f"{P}/servers/{sid}/roles/{role_id}", {"name": "n"}),
        lambda: api.as_("alice").delete(f"{P}/servers/{sid}/roles/{role_id}"),
    ):
        with capture() as got:
            assert action().status_code == 200
        assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, everyone_in(sid))
        assert [a for _, a in recheck(got)] == [to_servers(sid)]


def test_role_assignment(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, bob = world["sid"], world["bob"]
    role_id = make_role(api, "alice", str(sid), 0)
    everyone = str(Role.objects.get(server_id=sid, is_default=True).id)
    path = f"{P}/servers/{sid}/members/{bob}/roles"
    with capture() as got:
        api.as_("alice").put(path, {"role_id": role_id})
    payload = {"server_id": str(sid), "user_id": str(bob), "role_ids": [role_id]}
    assert only(got, "MemberRolesUpdated") == (payload, to_servers(sid) | to_users(bob))
    assert [a for _, a in recheck(got)] == [to_users(bob)]
    api.as_("alice").put(path, {"role_id": everyone})
    with capture() as got:
        api.as_("alice").put(path, {"role_id": role_id})  # already assigned
    assert got.quiet
    with capture() as got:
        api.as_("alice").delete(f"{path}/{role_id}")
    payload = {"server_id": str(sid), "user_id": str(bob), "role_ids": [everyone]}
    assert only(got, "MemberRolesUpdated") == (payload, to_servers(sid) | to_users(bob))
    assert [a for _, a in recheck(got)] == [to_users(bob)]


def test_overwrites(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, general = world["sid"], world["general"]
    body = {
        "target_type": "member",
        "target_id": str(world["bob"]),
        "allow_bits": "0",
        "deny_bits": "128",
    }
    with capture() as got:
        api.as_("alice").put(f"{P}/channels/{general}/overwrites", body)
    assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, everyone_in(sid))
    assert [a for _, a in recheck(got)] == [to_servers(sid)]
    with capture() as got:
        api.as_("alice").delete(f"{P}/channels/{general}/overwrites/member/{world['bob']}")
    assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, everyone_in(sid))
    assert [a for _, a in recheck(got)] == [to_servers(sid)]


@pytest.mark.parametrize(
    "action",
    [
        "create_channel", "rename_channel", "reorder_channels", "set_category", "create_category",
        "update_category", "reorder_categories", "delete_category",
    ],
)  # fmt: skip
def test_structure_changes_send_server_updated(
    api: Api, world: dict[str, uuid.UUID], capture: Capture, action: str
) -> None:
    sid, general = world["sid"], world["general"]
    alice = api.as_("alice")
    category = alice.post(f"{P}/servers/{sid}/categories", {"name": "c"}).json()["id"]
    calls = {
        "create_channel": lambda: alice.post(f"{P}/servers/{sid}/channels", {"encrypted_meta": ""}),
        "rename_channel": lambda: alice.put(f"{P}/channels/{general}", {"encrypted_meta": ""}),
        "reorder_channels": lambda: alice.put(
            f"{P}/servers/{sid}/channels/reorder", {"order": [{"id": str(general), "position": 1}]}
        ),
        "set_category": lambda: alice.put(
            f"{P}/channels/{general}/category", {"category_id": category}
        ),
        "create_category": lambda: alice.post(f"{P}/servers/{sid}/categories", {"name": "d"}),
        "update_category": lambda: alice.put(
            f"{P}/servers/{sid}/categories/{category}", {"name": "e"}
        ),
        "reorder_categories": lambda: alice.put(
            f"{P}/servers/{sid}/categories/reorder", {"order": [{"id": category, "position": 2}]}
        ),
        "delete_category": lambda: alice.delete(f"{P}/servers/{sid}/categories/{category}"),
    }
    with capture() as got:
        assert calls[action]().status_code == 200
    assert got.types() == ["ServerUpdated"]
    assert got.events[0].payload == {"server_id": str(sid)}
    assert got.events[0].audience == to_servers(sid)
    assert got.controls == []


def test_channel_delete(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    sid, general = world["sid"], world["general"]
    with capture() as got:
        api.as_("alice").delete(f"{P}/channels/{general}")
    assert only(got, "ServerUpdated") == ({"server_id": str(sid)}, to_servers(sid))
    [(message, audience)] = recheck(got)
    assert message == {
        "type": "gateway.control",
        "action": "recheck",
        "server_id": str(sid),
        "channel_id": str(general),
    }
    assert audience == to_servers(sid) | to_channels(general)


def test_quiet_actions(api: Api, world: dict[str, uuid.UUID], capture: Capture) -> None:
    """Invite create/delete, channel join and reads send nothing."""
    sid, general = world["sid"], world["general"]
    grant(api, "alice", str(sid), "bob", int(Permission.MANAGE_INVITES))
    with capture() as got:
        invite = api.as_("bob").post(f"{P}/servers/{sid}/invites", {}).json()
        api.as_("bob").delete(f"{P}/servers/{sid}/invites/{invite['id']}")
        api.as_("bob").post(f"{P}/channels/{general}/join")
        api.as_("bob").get(f"{P}/servers/{sid}/members")
    assert got.quiet
