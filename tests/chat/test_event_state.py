"""Every action that publishes events keeps a client's state right: applying the events to the
state loaded over REST before the action gives the state loaded after it (tests/verify_action.py),
for every user concerned, the actor's other devices included.

Events no test here applies, and why: ``PresenceUpdate`` (presence is not part of the REST state
a client loads: ``GET /presence`` answers for ids the client chooses), ``VoiceStateUpdate`` and
``VoiceMuteUpdate`` (the voice roster lives in LiveKit and the process, tested in tests/voice),
``UserTyping``, the call events and ``Error`` (no REST state at all).

Reactions are compared by count, and a repeated ``AddReaction`` is not checked: websocket.md 3.4
has the server announce a repeat again (with the reaction's stored token, so a client that counts
distinct tokens stays right, but one that loaded counts over REST has no tokens to compare).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from accounts.models import User
from chat.actions import messages, pins, reactions, report_decisions
from chat.permissions import Permission
from tests.chat.conftest import P, create_server, grant, join
from tests.factories import PNG, make_dm, post, send_body
from tests.helpers import Api, b64
from tests.verify_action import verify_action, verify_quiet

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    """alice owns a server that bob and carol joined; dave is outside."""
    for name in ("alice", "bob", "carol", "dave"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob", "carol")
    sid = server["id"]
    return {"sid": sid, "cid": server["system_channel_id"]}


def row(api: Api, name: str) -> User:
    return User.objects.get(id=api.users[name].id)


def verify(api: Api, action: Any, *, channels: Any = (), viewers: Any = None) -> Any:
    return verify_action(
        api, viewers or ["alice", "bob", "carol", "dave"], action, channels=channels
    )


# --- Servers, channels, categories -----------------------------------------------------------


def test_server_settings(api: Api, world: dict[str, Any]) -> None:
    as_alice = api.as_("alice")
    verify(
        api, lambda: as_alice.patch(f"{P}/servers/{world['sid']}", {"encrypted_meta": b64(b"n")})
    )


def test_server_delete(api: Api, world: dict[str, Any]) -> None:
    verify(
        api, lambda: api.as_("alice").delete(f"{P}/servers/{world['sid']}"), channels=[world["cid"]]
    )


def test_channels(api: Api, world: dict[str, Any]) -> None:
    alice, sid = api.as_("alice"), world["sid"]
    body = {"encrypted_meta": b64(b"c")}
    verify(api, lambda: alice.post(f"{P}/servers/{sid}/channels", body))
    cid = next(
        c["id"] for c in alice.get(f"{P}/servers/{sid}/channels").json() if c["id"] != world["cid"]
    )
    verify(api, lambda: alice.put(f"{P}/channels/{cid}", {"encrypted_meta": b64(b"r")}))
    order = {"order": [{"id": cid, "position": 0}, {"id": world["cid"], "position": 1}]}
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/channels/reorder", order))
    category = alice.post(f"{P}/servers/{sid}/categories", {"name": "k"}).json()
    verify(api, lambda: alice.put(f"{P}/channels/{cid}/category", {"category_id": category["id"]}))
    verify(api, lambda: alice.delete(f"{P}/channels/{cid}"), channels=[cid])


def test_categories(api: Api, world: dict[str, Any]) -> None:
    alice, sid = api.as_("alice"), world["sid"]
    verify(api, lambda: alice.post(f"{P}/servers/{sid}/categories", {"name": "k"}))
    kid = alice.get(f"{P}/servers/{sid}/categories").json()[0]["id"]
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/categories/{kid}", {"name": "k2"}))
    order = {"order": [{"id": kid, "position": 3}]}
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/categories/reorder", order))
    verify(api, lambda: alice.delete(f"{P}/servers/{sid}/categories/{kid}"))


def test_overwrites(api: Api, world: dict[str, Any]) -> None:
    alice, cid = api.as_("alice"), world["cid"]
    bob = api.users["bob"].id
    body = {"target_type": "member", "target_id": bob, "allow_bits": "0", "deny_bits": "128"}
    verify(api, lambda: alice.put(f"{P}/channels/{cid}/overwrites", body), channels=[cid])
    verify(api, lambda: alice.delete(f"{P}/channels/{cid}/overwrites/member/{bob}"), channels=[cid])


def test_emojis(api: Api, world: dict[str, Any]) -> None:
    alice, sid = api.as_("alice"), world["sid"]
    verify(api, lambda: alice.post(f"{P}/servers/{sid}/emojis?name=party", raw=PNG))
    eid = alice.get(f"{P}/servers/{sid}/emojis").json()[0]["id"]
    verify(api, lambda: alice.delete(f"{P}/servers/{sid}/emojis/{eid}"))


# --- Roles and members --------------------------------------------------------------------------


def test_roles(api: Api, world: dict[str, Any]) -> None:
    alice, sid = api.as_("alice"), world["sid"]
    body = {"name": "mods", "permissions": str(int(Permission.MANAGE_MESSAGES)), "position": 1}
    verify(api, lambda: alice.post(f"{P}/servers/{sid}/roles", body))
    rid = next(r["id"] for r in alice.get(f"{P}/servers/{sid}/roles").json() if r["name"] == "mods")
    bob = api.users["bob"].id
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/members/{bob}/roles", {"role_id": rid}))
    admin = {"permissions": str(int(Permission.ADMINISTRATOR))}
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/roles/{rid}", admin))
    verify(api, lambda: alice.delete(f"{P}/servers/{sid}/members/{bob}/roles/{rid}"))
    again = f"{P}/servers/{sid}/members/{bob}/roles/{rid}"
    verify_quiet(api, ["alice", "bob"], lambda: alice.delete(again))  # nothing to remove
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/members/{bob}/roles", {"role_id": rid}))
    verify(api, lambda: alice.delete(f"{P}/servers/{sid}/roles/{rid}"))


def test_joining_by_invite(api: Api, world: dict[str, Any]) -> None:
    code = api.as_("alice").post(f"{P}/servers/{world['sid']}/invites", {}).json()["code"]
    verify(api, lambda: api.as_("dave").post(f"{P}/invites/{code}/join"), channels=[world["cid"]])


def test_leaving_and_kicking(api: Api, world: dict[str, Any]) -> None:
    sid, cid = world["sid"], world["cid"]
    verify(api, lambda: api.as_("carol").delete(f"{P}/servers/{sid}/members/@me"), channels=[cid])
    bob = api.users["bob"].id
    verify(api, lambda: api.as_("alice").delete(f"{P}/servers/{sid}/members/{bob}"), channels=[cid])


def test_bans(api: Api, world: dict[str, Any]) -> None:
    alice, sid, bob = api.as_("alice"), world["sid"], api.users["bob"].id
    verify(
        api,
        lambda: alice.post(f"{P}/servers/{sid}/bans/{bob}", {"reason": "spam"}),
        channels=[world["cid"]],
    )
    verify(api, lambda: alice.delete(f"{P}/servers/{sid}/bans/{bob}"))
    verify_quiet(api, ["alice", "bob"], lambda: alice.delete(f"{P}/servers/{sid}/bans/{bob}"))


def test_nicknames_and_timeouts(api: Api, world: dict[str, Any]) -> None:
    alice, sid, bob = api.as_("alice"), world["sid"], api.users["bob"].id
    verify(api, lambda: api.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": "B"}))
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/members/{bob}/nickname", {"nickname": None}))
    timeout = {"duration_seconds": 600}
    verify(api, lambda: alice.put(f"{P}/servers/{sid}/members/{bob}/timeout", timeout))
    verify(
        api, lambda: alice.put(f"{P}/servers/{sid}/members/{bob}/timeout", {"duration_seconds": 0})
    )


# --- Messages, reactions, pins, read states, sender keys --------------------------------------


def test_messages(api: Api, world: dict[str, Any]) -> None:
    cid = world["cid"]
    sent = verify(
        api,
        lambda: api.as_("bob").post(f"{P}/channels/{cid}/messages", send_body(cid)),
        channels=[cid],
    )
    mid = uuid.UUID(sent[0].payload["id"])
    bob = row(api, "bob")
    verify(api, lambda: messages.do_edit_message(bob, mid, b64(b"edited")), channels=[cid])
    verify(api, lambda: messages.do_delete_message(bob, mid), channels=[cid])
    doomed = [str(post(_channel(cid), bob).id) for _ in range(2)]
    body = {"message_ids": doomed}
    verify(
        api,
        lambda: api.as_("alice").post(f"{P}/channels/{cid}/messages/bulk-delete", body),
        channels=[cid],
    )


def _channel(cid: str) -> Any:
    from chat.models import Channel

    return Channel.objects.get(id=cid)


def test_reactions_and_pins(api: Api, world: dict[str, Any]) -> None:
    cid = world["cid"]
    message = post(_channel(cid), row(api, "bob"))
    bob, carol = row(api, "bob"), row(api, "carol")
    verify(api, lambda: reactions.do_add_reaction(bob, message.id, "👍"), channels=[cid])
    verify(api, lambda: reactions.do_add_reaction(carol, message.id, "👍"), channels=[cid])
    verify(api, lambda: reactions.do_remove_reaction(bob, message.id, "👍"), channels=[cid])
    alice = row(api, "alice")
    verify(api, lambda: pins.do_pin_message(alice, uuid.UUID(cid), message.id), channels=[cid])
    verify(api, lambda: pins.do_unpin_message(alice, uuid.UUID(cid), message.id), channels=[cid])


def test_read_states(api: Api, world: dict[str, Any]) -> None:
    cid = world["cid"]
    post(_channel(cid), row(api, "alice"))
    verify(api, lambda: api.as_("bob").put(f"{P}/channels/{cid}/read-state"), channels=[cid])


def test_sender_keys(api: Api, world: dict[str, Any]) -> None:
    cid = world["cid"]
    entry = {
        "to_user_id": api.users["bob"].id,
        "distribution_id": str(uuid.uuid4()),
        "encrypted_skdm": b64(b"k"),
    }
    body = {"distributions": [entry]}
    verify(
        api, lambda: api.as_("alice").post(f"{P}/channels/{cid}/sender-keys", body), channels=[cid]
    )


# --- Friends, DMs, reports ---------------------------------------------------------------------


def test_friends(api: Api, world: dict[str, Any]) -> None:
    viewers = ["alice", "dave"]
    sent = verify(
        api,
        lambda: api.as_("alice").post(f"{P}/friends/request", {"username": "dave"}),
        viewers=viewers,
    )
    fid = sent[0].payload["friendship_id"]
    verify(api, lambda: api.as_("dave").post(f"{P}/friends/{fid}/accept"), viewers=viewers)
    verify(api, lambda: api.as_("dave").delete(f"{P}/friends/{fid}"), viewers=viewers)


def test_dm_requests(api: Api, world: dict[str, Any]) -> None:
    body = {"target_user_id": api.users["dave"].id, "encrypted_meta": b64(b"dm")}
    verify(api, lambda: api.as_("alice").post(f"{P}/dm", body), viewers=["alice", "dave"])


def test_group_rename(api: Api, world: dict[str, Any]) -> None:
    group = make_dm(*(row(api, n) for n in ("alice", "bob", "carol")), group=True)
    body = {"encrypted_meta": b64(b'{"type":"group","name":"Trip"}')}
    sent = verify(api, lambda: api.as_("carol").put(f"{P}/channels/{group.id}", body))
    assert [e.type for e in sent] == ["ChannelUpdated"]


def test_report_decisions(api: Api, world: dict[str, Any]) -> None:
    cid = world["cid"]
    message = post(_channel(cid), row(api, "bob"))
    body = {"message_id": str(message.id), "channel_id": cid, "reason": "this is spam, truly"}
    report = api.as_("carol").post(f"{P}/reports", body).json()
    alice = row(api, "alice")  # the first account: an instance admin
    verify(api, lambda: report_decisions.do_review(alice, uuid.UUID(report["id"]), "dismissed"))


def test_grant_helper_roles_reach_members(api: Api, world: dict[str, Any]) -> None:
    """The REST helper ``grant`` (create and assign a role) seen through the same lens."""
    verify(api, lambda: grant(api, "alice", world["sid"], "carol", int(Permission.MANAGE_SERVER)))
