"""The message operations over the socket (websocket.md 3.1-3.5, 3.9-3.11): every client message,
its events and audiences, every error text, MessageAck before the echo, DM delivery, nonces."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chat.actions import messages as message_actions
from chat.gateway.identity import RATE_LIMITED
from haven_site.ratelimit import count_ws_op
from tests.chat.gateway.conftest import Ws, settle
from tests.factories import (
    add_channel,
    add_member,
    make_dm,
    make_server,
)
from tests.helpers import TestUser, b64, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


def _world(users: dict[str, TestUser]) -> dict[str, Any]:
    """alice owns a server (@everyone has the defaults) with a text channel and a private one
    (@everyone denied VIEW_CHANNELS); bob is a member, carol is not. Plus a DM alice-bob and a
    group alice-bob-carol."""
    from chat.models import PermissionOverwrite, Role, TargetType
    from chat.permissions import Permission

    alice, bob, carol = (uuid.UUID(users[n].id) for n in ("alice", "bob", "carol"))
    server = make_server(alice).server
    add_member(server, bob)
    private = add_channel(server, "text", private=True, hidden=False)
    everyone = Role.objects.get(server=server, is_default=True)
    PermissionOverwrite.objects.create(
        channel=private,
        target_type=TargetType.ROLE,
        target_id=everyone.id,
        deny_bits=int(Permission.VIEW_CHANNELS),
    )
    assert server.system_channel is not None
    return {
        "server": server.id,
        "text": str(server.system_channel.id),
        "private": str(private.id),
        "dm": str(make_dm(alice, bob).id),
        "group": str(make_dm(alice, bob, carol, group=True).id),
    }


@pytest.fixture
async def world(users: dict[str, TestUser]) -> dict[str, Any]:
    return await sync_to_async(_world)(users)


async def connect(users: dict[str, TestUser], name: str) -> Ws:
    ws = Ws(users[name].access_token)
    await ws.open()
    return ws


def send_frame(channel: str, body: bytes = b"ciphertext", **extra: Any) -> dict[str, Any]:
    payload = {
        "channel_id": channel,
        "sender_token": b64(b"sealed-sender-token"),
        "encrypted_body": b64(body),
        "expires_at": None,
        "attachment_ids": None,
        "reply_to_id": None,
        **extra,
    }
    return {"type": "SendMessage", "payload": payload}


async def send(ws: Ws, channel: str, body: bytes = b"ciphertext", **extra: Any) -> str:
    """SendMessage; returns the acked id (the ack is the next frame)."""
    await ws.send(send_frame(channel, body, **extra))
    ack = await ws.expect("MessageAck")
    return str(ack["payload"]["message_id"])


async def error_of(ws: Ws, message: dict[str, Any]) -> str:
    await ws.send(message)
    frame = await ws.expect("Error")
    return str(frame["payload"]["message"])


async def close_all(*sockets: Ws) -> None:
    for ws in sockets:
        await ws.close()


# --- SendMessage -------------------------------------------------------------------------------


async def test_send_acks_then_echoes_and_reaches_subscribers(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    await alice.subscribe(world["text"])
    await bob.subscribe(world["text"])
    await alice.send(send_frame(world["text"], b"hello", reply_to_id=str(uuid.uuid4())))
    ack = await alice.expect("MessageAck")
    message_id = ack["payload"]["message_id"]
    assert list(ack["payload"]) == ["message_id"]
    echo = await alice.expect("NewMessage")
    delivered = await bob.expect("NewMessage")
    assert echo == delivered
    payload = echo["payload"]
    assert payload["id"] == message_id
    assert payload["channel_id"] == world["text"]
    assert payload["sender_token"] == b64(b"sealed-sender-token")
    assert payload["encrypted_body"] == b64(b"hello")
    assert payload["expires_at"] is None
    assert payload["has_attachments"] is False
    assert payload["edited"] is False
    assert "reply_to_id" in payload
    assert "message_type" not in payload
    assert "sender_id" not in payload
    for ws in (alice, bob, carol):
        await ws.silent(0.2)
    await close_all(alice, bob, carol)


async def test_optional_fields_may_be_left_out(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    await alice.subscribe(world["text"])
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    frame = {
        "type": "SendMessage",
        "payload": {
            "channel_id": world["text"].upper(),
            "sender_token": "",
            "encrypted_body": b64(b"x"),
            "expires_at": later,
        },
    }
    await alice.send(frame)
    ack = await alice.expect("MessageAck")
    echo = await alice.expect("NewMessage")
    assert echo["payload"]["id"] == ack["payload"]["message_id"]
    assert echo["payload"]["sender_token"] == ""
    assert echo["payload"]["expires_at"] is not None
    assert "reply_to_id" not in echo["payload"]
    await alice.close()


async def test_ack_reaches_the_sender_before_its_echo_even_when_the_echo_is_early(
    users: dict[str, TestUser], world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action returns 0.3 s after it published: by then the NewMessage doorbell has reached
    this process (bob already has it), yet the sender sees MessageAck first (websocket.md 2.6)."""
    original = message_actions.do_send_message

    def slow_after_commit(*args: Any, **kwargs: Any) -> Any:
        message = original(*args, **kwargs)
        time.sleep(0.3)
        return message

    monkeypatch.setattr(message_actions, "do_send_message", slow_after_commit)
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await alice.subscribe(world["text"])
    await bob.subscribe(world["text"])
    for n in range(3):
        await alice.send(send_frame(world["text"], f"m{n}".encode()))
        early = await bob.expect("NewMessage", wait=0.25)  # before the action returned
        ack = await alice.recv()
        assert ack["type"] == "MessageAck", ack
        echo = await alice.expect("NewMessage")
        assert echo["payload"]["id"] == ack["payload"]["message_id"] == early["payload"]["id"]
    await close_all(alice, bob)


async def test_acks_and_echoes_pair_up_in_order_for_a_burst(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    await alice.subscribe(world["text"])
    for n in range(5):
        await alice.send(send_frame(world["text"], f"burst {n}".encode()))
    frames = [await alice.recv() for _ in range(10)]
    # Acks in send order; each echo after its own ack (with Redis, an echo may also come after
    # the next message's ack: the spec orders only a message's ack and its own echo).
    acked = [f["payload"]["message_id"] for f in frames if f["type"] == "MessageAck"]
    echoed = [f["payload"]["id"] for f in frames if f["type"] == "NewMessage"]
    assert acked == echoed
    assert len(set(acked)) == 5
    position = {(f["type"], f["payload"].get("id") or f["payload"].get("message_id")): i
                for i, f in enumerate(frames)}  # fmt: skip
    for message_id in acked:
        assert position["MessageAck", message_id] < position["NewMessage", message_id]
    bodies = [base64.b64decode(f["payload"]["encrypted_body"]) for f in frames
              if f["type"] == "NewMessage"]  # fmt: skip
    assert bodies == [f"burst {n}".encode() for n in range(5)]
    await alice.silent()
    await alice.close()


async def test_a_retried_nonce_acks_the_same_message_without_a_second_echo(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await alice.subscribe(world["text"])
    await bob.subscribe(world["text"])
    first = await send(alice, world["text"], b"once", nonce="client-nonce-1")
    assert (await alice.expect("NewMessage"))["payload"]["id"] == first
    assert (await bob.expect("NewMessage"))["payload"]["id"] == first
    again = await send(alice, world["text"], b"once", nonce="client-nonce-1")
    assert again == first
    await alice.silent()
    await bob.silent()
    assert await sync_to_async(_message_count)(world["text"]) == 1
    # The nonce belongs to that channel; another message needs another nonce.
    assert await error_of(alice, send_frame(world["dm"], nonce="client-nonce-1")) == (
        "nonce already used for another message"
    )
    await close_all(alice, bob)


def _message_count(channel_id: str) -> int:
    from chat.models import Message

    return Message.objects.filter(channel_id=channel_id).count()


async def test_dm_reaches_members_who_did_not_subscribe_exactly_once(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    bob_plain = await connect(users, "bob")  # not subscribed: the first message of a new DM
    bob_subscribed = await connect(users, "bob")
    await bob_subscribed.subscribe(world["dm"])  # subscribed AND in his user group
    message_id = await send(alice, world["dm"])
    for ws in (bob_plain, bob_subscribed):
        frame = await ws.expect("NewMessage")
        assert frame["payload"]["id"] == message_id
        assert frame["payload"]["channel_id"] == world["dm"]
        await ws.silent()  # exactly once
    await alice.silent()  # the sender gets its ack, no copy it did not subscribe to
    await close_all(alice, bob_plain, bob_subscribed)


async def test_group_message_reaches_every_other_participant(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    message_id = await send(bob, world["group"])
    for ws in (alice, carol):
        assert (await ws.expect("NewMessage"))["payload"]["id"] == message_id
    for ws in (alice, bob, carol):
        await ws.silent(0.2)
    await close_all(alice, bob, carol)


async def test_send_errors(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    bob, carol = await connect(users, "bob"), await connect(users, "carol")
    not_member = "Not a member of this channel"
    assert await error_of(carol, send_frame(world["text"])) == not_member
    assert await error_of(carol, send_frame(world["dm"])) == not_member
    assert await error_of(carol, send_frame(str(uuid.uuid4()))) == not_member
    assert await error_of(bob, send_frame(world["private"])) == not_member
    bad_token = send_frame(world["text"])
    bad_token["payload"]["sender_token"] = "not!!valid!!base64"
    assert await error_of(bob, bad_token) == "Invalid sender_token encoding"
    bad_body = send_frame(world["text"])
    bad_body["payload"]["encrypted_body"] = "aGVsbG8"  # missing padding
    assert await error_of(bob, bad_body) == "Invalid encrypted_body encoding"
    assert await error_of(bob, send_frame(world["text"], b"x" * 8193)) == "Message too large"
    await send(bob, world["text"], b"x" * 8192)  # the limit itself is fine
    # Format errors come from the envelope, before any check.
    missing: dict[str, Any] = {"type": "SendMessage", "payload": {"channel_id": world["text"]}}
    assert (await error_of(bob, missing)).startswith("Invalid message format: ")
    naive = send_frame(world["text"], expires_at="2030-01-01T00:00:00")
    assert (await error_of(bob, naive)).startswith("Invalid message format: ")
    await bob.silent()
    await close_all(bob, carol)


async def test_timed_out_members_cannot_send_or_react(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    message_id = await send(alice, world["text"])
    await sync_to_async(_time_out)(world["server"], users["bob"].id)
    timed_out = "You are timed out in this server"
    assert await error_of(bob, send_frame(world["text"])) == timed_out
    react = {"type": "AddReaction", "payload": {"message_id": message_id, "emoji": "👍"}}
    assert await error_of(bob, react) == timed_out
    await send(bob, world["dm"])  # DMs are not affected
    await close_all(alice, bob)


def _time_out(server_id: uuid.UUID, user_id: str) -> None:
    from chat.models import ServerMember

    ServerMember.objects.filter(server_id=server_id, user_id=user_id).update(
        timed_out_until=timezone.now() + timedelta(hours=1)
    )


async def test_the_send_rate_limit_is_checked_first(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    carol = await connect(users, "carol")
    with haven_settings(rate_limits_enabled=True):
        for _ in range(30):
            assert (await sync_to_async(count_ws_op)("send", users["carol"].id))[0]
        # Over the limit, even a send that would fail later says so first.
        assert await error_of(carol, send_frame(world["text"])) == RATE_LIMITED
        assert RATE_LIMITED == "Rate limit exceeded \u2014 slow down"
        # Other messages are not limited.
        await carol.send({"type": "Ping"})
        await carol.expect("Pong")
    await carol.close()


async def test_a_storage_failure_answers_failed_to_save(
    users: dict[str, TestUser], world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DatabaseError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("disk full")

    monkeypatch.setattr(message_actions, "do_send_message", broken)
    alice = await connect(users, "alice")
    assert await error_of(alice, send_frame(world["text"])) == "Failed to save message"
    await alice.close()


# --- EditMessage / DeleteMessage ---------------------------------------------------------------


async def test_edit_message(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await bob.subscribe(world["text"])
    message_id = await send(alice, world["text"], b"v1")
    await bob.expect("NewMessage")
    edit: dict[str, Any] = {
        "type": "EditMessage",
        "payload": {"message_id": message_id, "encrypted_body": ""},
    }
    edit["payload"]["encrypted_body"] = b64(b"v2")
    await alice.send(edit)
    edited = await bob.expect("MessageEdited")
    assert edited["payload"] == {
        "message_id": message_id,
        "channel_id": world["text"],
        "encrypted_body": b64(b"v2"),
    }
    await alice.silent()  # no ack for edits, and alice is not subscribed
    cannot = "Failed to edit message: Forbidden: Cannot edit this message"
    assert await error_of(bob, edit) == cannot  # someone else's message
    missing: dict[str, Any] = {"type": "EditMessage", "payload": {"message_id": str(uuid.uuid4())}}
    missing["payload"]["encrypted_body"] = b64(b"v3")
    assert await error_of(alice, missing) == cannot
    bad = {"type": "EditMessage", "payload": {"message_id": message_id, "encrypted_body": "%%"}}
    assert await error_of(alice, bad) == "Invalid encrypted_body encoding"
    big: dict[str, Any] = {"type": "EditMessage", "payload": {"message_id": message_id}}
    big["payload"]["encrypted_body"] = b64(b"y" * 8193)
    assert await error_of(alice, big) == "Message too large"
    await bob.silent()
    await close_all(alice, bob)


async def test_delete_message_by_author_and_by_moderator(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await alice.subscribe(world["text"])
    await bob.subscribe(world["text"])
    mine = await send(bob, world["text"], b"bob's")
    for ws in (alice, bob):
        assert (await ws.expect("NewMessage"))["payload"]["id"] == mine
    theirs = await send(alice, world["text"], b"alice's")
    for ws in (alice, bob):
        assert (await ws.expect("NewMessage"))["payload"]["id"] == theirs

    # bob may not delete alice's message (no MANAGE_MESSAGES), nor a message that is not there.
    delete = {"type": "DeleteMessage", "payload": {"message_id": theirs}}
    assert await error_of(bob, delete) == "Cannot delete this message"
    missing: dict[str, Any] = {
        "type": "DeleteMessage",
        "payload": {"message_id": str(uuid.uuid4())},
    }
    assert await error_of(bob, missing) == "Message not found"

    # The author deletes their own: no audit entry.
    await bob.send({"type": "DeleteMessage", "payload": {"message_id": mine}})
    for ws in (alice, bob):
        gone = await ws.expect("MessageDeleted")
        assert gone["payload"] == {"message_id": mine, "channel_id": world["text"]}
    # The owner (a moderator) deletes bob's next message: audited.
    again = await send(bob, world["text"], b"bob's again")
    for ws in (alice, bob):
        await ws.expect("NewMessage")
    await alice.send({"type": "DeleteMessage", "payload": {"message_id": again}})
    for ws in (alice, bob):
        gone = await ws.expect("MessageDeleted")
        assert gone["payload"] == {"message_id": again, "channel_id": world["text"]}
    entries = await sync_to_async(_audit)(world["server"])
    assert entries == [("message_delete", users["alice"].id, "message", again)]
    # A non-author in a DM cannot delete.
    dm_message = await send(alice, world["dm"])
    await bob.expect("NewMessage")
    dm_delete = {"type": "DeleteMessage", "payload": {"message_id": dm_message}}
    assert await error_of(bob, dm_delete) == "Cannot delete this message"
    await close_all(alice, bob)


def _audit(server_id: uuid.UUID) -> list[tuple[str, str, str | None, str]]:
    """The message entries (the factories' own entries, such as channel_create, aside)."""
    from chat.models import AuditLogEntry

    entries = AuditLogEntry.objects.filter(server_id=server_id, action__startswith="message_")
    return [
        (e.action, str(e.actor_id), e.target_type, str(e.target_id))
        for e in entries.order_by("created_at")
    ]


# --- Reactions ---------------------------------------------------------------------------------


async def test_reactions(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    await alice.subscribe(world["text"])
    message_id = await send(alice, world["text"])
    await alice.expect("NewMessage")
    react = {"type": "AddReaction", "payload": {"message_id": message_id, "emoji": "🎉"}}
    await bob.send(react)
    added = await alice.expect("ReactionAdded")
    token = added["payload"]["sender_token"]
    assert added["payload"] == {
        "message_id": message_id,
        "channel_id": world["text"],
        "sender_token": token,
        "emoji": "🎉",
    }
    assert "user_id" not in added["payload"]  # sealed sender
    await bob.send(react)  # a repeat: announced again, same token
    assert (await alice.expect("ReactionAdded"))["payload"]["sender_token"] == token
    unreact = {"type": "RemoveReaction", "payload": {"message_id": message_id, "emoji": "🎉"}}
    await bob.send(unreact)
    removed = await alice.expect("ReactionRemoved")
    assert removed["payload"] == added["payload"]
    await bob.send(unreact)  # nothing left to remove: silently nothing
    await bob.sync()
    assert bob.pending == []
    await alice.silent()
    missing: dict[str, Any] = {
        "type": "AddReaction",
        "payload": {"message_id": str(uuid.uuid4()), "emoji": "x"},
    }
    assert await error_of(bob, missing) == "Message not found"
    missing["type"] = "RemoveReaction"
    assert await error_of(bob, missing) == "Message not found"
    assert await error_of(carol, react) == "Not a member of this channel"
    assert await error_of(carol, unreact) == "Not a member of this channel"
    too_long = {"type": "AddReaction", "payload": {"message_id": message_id, "emoji": "x" * 65}}
    assert (await error_of(bob, too_long)).startswith("Failed to add reaction: ")
    await close_all(alice, bob, carol)


# --- Pins --------------------------------------------------------------------------------------


def _system_body(frame: dict[str, Any]) -> dict[str, Any]:
    assert frame["type"] == "NewMessage", frame
    assert frame["payload"]["message_type"] == "system"
    assert frame["payload"]["sender_token"] == ""
    body: dict[str, Any] = json.loads(base64.b64decode(frame["payload"]["encrypted_body"]))
    return body


async def test_pin_and_unpin(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    await bob.subscribe(world["text"])
    message_id = await send(alice, world["text"])
    await bob.expect("NewMessage")
    pin = {"type": "PinMessage", "payload": {"channel_id": world["text"], "message_id": message_id}}
    await alice.send(pin)
    pinned = await bob.expect("MessagePinned")
    assert pinned["payload"] == {
        "channel_id": world["text"],
        "message_id": message_id,
        "pinned_by": users["alice"].id,
    }
    assert _system_body(await bob.recv()) == {
        "event": "message_pinned",
        "username": "alice",
        "user_id": users["alice"].id,
        "message_id": message_id,
    }
    assert await error_of(alice, pin) == "Validation error: Message is already pinned"
    assert await error_of(carol, pin) == "Not a member of this channel"
    elsewhere: dict[str, Any] = {"type": "PinMessage", "payload": {"channel_id": world["dm"]}}
    elsewhere["payload"]["message_id"] = message_id
    assert await error_of(alice, elsewhere) == "Message not found in this channel"

    unpin = dict(pin, type="UnpinMessage")
    await alice.send(unpin)
    unpinned = await bob.expect("MessageUnpinned")
    assert unpinned["payload"] == {"channel_id": world["text"], "message_id": message_id}
    assert _system_body(await bob.recv())["event"] == "message_unpinned"
    assert await error_of(alice, unpin) == "Message is not pinned"
    assert await error_of(carol, unpin) == "Not a member of this channel"
    await alice.silent()
    await close_all(alice, bob, carol)


def _fill_pins(channel_id: str, owner_id: str, count: int) -> str:
    from chat.actions.message_store import insert_message
    from chat.models import Channel, PinnedMessage

    channel = Channel.objects.get(id=channel_id)
    for _ in range(count):
        message = insert_message(
            channel, sender_id=owner_id, sender_token=b"t", encrypted_body=b"b"
        )
        PinnedMessage.objects.create(channel=channel, message=message, pinned_by_id=owner_id)
    extra = insert_message(channel, sender_id=owner_id, sender_token=b"t", encrypted_body=b"b")
    return str(extra.id)


async def test_fifty_pins_at_most(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    extra = await sync_to_async(_fill_pins)(world["text"], users["alice"].id, 50)
    alice = await connect(users, "alice")
    pin = {"type": "PinMessage", "payload": {"channel_id": world["text"], "message_id": extra}}
    assert await error_of(alice, pin) == (
        "Validation error: Channel has reached the maximum of 50 pinned messages"
    )
    await alice.close()


# --- MarkRead ----------------------------------------------------------------------------------


async def test_mark_read_confirms_to_every_connection_of_the_user(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    first, second = await connect(users, "bob"), await connect(users, "bob")
    alice, carol = await connect(users, "alice"), await connect(users, "carol")
    await first.send({"type": "MarkRead", "payload": {"channel_id": world["text"]}})
    here = await first.expect("ReadStateUpdated")
    there = await second.expect("ReadStateUpdated")
    assert here == there
    assert here["payload"]["channel_id"] == world["text"]
    assert here["payload"]["last_read_at"].endswith("Z")
    await alice.silent()
    mark: dict[str, Any] = {"type": "MarkRead", "payload": {"channel_id": world["text"]}}
    assert await error_of(carol, mark) == "Cannot access this channel"
    mark["payload"]["channel_id"] = world["private"]
    assert await error_of(first, mark) == "Cannot access this channel"
    await second.silent()
    await close_all(first, second, alice, carol)


# --- The connection's user ---------------------------------------------------------------------


async def test_operations_stop_when_the_login_session_ended(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    """Even if the sign-out's close command were lost, an ended session cannot act: the socket
    is closed (1008) at its next operation."""
    from accounts.models import DeviceSession

    bob = await connect(users, "bob")
    await DeviceSession.objects.filter(user_id=users["bob"].id).adelete()
    await bob.send(send_frame(world["text"]))
    assert await bob.recv_raw() == {"type": "websocket.close", "code": 1008}
    await bob.silent()
    await bob.close(1008)
    assert await sync_to_async(_message_count)(world["text"]) == 0


async def test_display_name_changes_reach_system_messages_without_reconnecting(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    from accounts.models import User

    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await bob.subscribe(world["text"])
    message_id = await send(alice, world["text"])
    await bob.expect("NewMessage")
    await User.objects.filter(id=users["alice"].id).aupdate(display_name="Alice Renamed")
    pin = {"type": "PinMessage", "payload": {"channel_id": world["text"], "message_id": message_id}}
    await alice.send(pin)
    await bob.expect("MessagePinned")
    assert _system_body(await bob.recv())["username"] == "Alice Renamed"
    await settle()
    await close_all(alice, bob)


async def test_a_slow_operation_does_not_hold_up_another_socket(
    users: dict[str, TestUser], world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each operation's database work runs on the loop's worker-thread pool
    (haven_site.threads), not on one thread for the whole process: while alice's MarkRead is
    stuck in its worker thread, bob's SendMessage is stored and acknowledged."""
    import threading

    from chat.actions import read_states

    release = threading.Event()
    original = read_states.do_mark_read

    def stuck_mark_read(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(10), "never released"
        return original(*args, **kwargs)

    monkeypatch.setattr(read_states, "do_mark_read", stuck_mark_read)
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    try:
        await alice.send({"type": "MarkRead", "payload": {"channel_id": world["text"]}})
        await settle(0.2)  # alice's MarkRead now waits in its worker thread
        assert await send(bob, world["text"], b"meanwhile")
    finally:
        release.set()
    assert (await alice.expect("ReadStateUpdated"))["payload"]["channel_id"] == world["text"]
    await alice.close()
    await bob.close()
