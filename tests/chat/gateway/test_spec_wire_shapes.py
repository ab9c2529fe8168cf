"""Exact wire shapes of the gateway against websocket.md (sections 2-6)."""

# ruff: noqa: F811 - fixtures imported from the modules that define them

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest

from tests.chat.gateway.conftest import Ws, settle
from tests.chat.gateway.test_operations import connect, send, send_frame, world  # noqa: F401
from tests.helpers import TestUser

pytestmark = pytest.mark.django_db(transaction=True)

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def raw(ws: Ws) -> str:
    out = await ws.recv_raw()
    assert out["type"] == "websocket.send", out
    return str(out["text"])


async def next_not_presence(ws: Ws) -> str:
    while True:
        text = await raw(ws)
        if json.loads(text)["type"] != "PresenceUpdate":
            return text


async def test_hello_ping_pong_invalid_session_raw(users: dict[str, TestUser]) -> None:
    ws = Ws(users["alice"].access_token)
    hello = await ws.open()
    assert set(hello["payload"]) == {"session_id", "heartbeat_interval_ms"}
    assert isinstance(hello["payload"]["heartbeat_interval_ms"], int)
    assert UUID_RE.match(hello["payload"]["session_id"])
    await ws.send('{"type":"Ping","payload":null,"extra":1}')
    assert await next_not_presence(ws) == '{"type":"Pong"}'
    await ws.send({"type": "Resume", "payload": {"session_id": str(uuid.uuid4())}})
    assert await next_not_presence(ws) == '{"type":"InvalidSession"}'
    await ws.send('{"type":"Ping","payload":{}}')
    err = json.loads(await next_not_presence(ws))
    assert err["type"] == "Error"
    assert err["payload"]["message"].startswith("Invalid message format: ")
    await ws.close()


async def test_subscribe_accepts_every_uuid_form(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    ws = await connect(users, "alice")
    cid = uuid.UUID(world["text"])
    for form in (str(cid).upper(), cid.hex, "{" + str(cid) + "}", cid.urn):
        await ws.send({"type": "Subscribe", "payload": {"channel_id": form}})
        frame = await ws.expect("Subscribed")
        assert frame["payload"] == {"channel_id": str(cid)}
    await ws.send({"type": "Unsubscribe", "payload": {"channel_id": str(uuid.uuid4())}})
    await ws.silent(0.3)
    await ws.close()


async def test_presence_set_status_shapes(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    alice = await connect(users, "alice")
    await bob.expect("PresenceUpdate")
    for chosen, wire in (("dnd", "dnd"), ("idle", "idle"), ("invisible", "offline")):
        await alice.send({"type": "SetStatus", "payload": {"status": chosen}})
        frame = await bob.expect("PresenceUpdate")
        assert frame["payload"] == {"user_id": users["alice"].id, "status": wire}
    await alice.send({"type": "SetStatus", "payload": {"status": "Online"}})
    err = await alice.expect("Error")
    assert (
        err["payload"]["message"] == "Invalid status: Online. Valid: online, idle, dnd, invisible"
    )
    await alice.close()
    frame = await bob.expect("PresenceUpdate")
    assert frame["payload"] == {"user_id": users["alice"].id, "status": "offline"}
    await bob.close()


async def test_typing_payload(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    from accounts.models import User

    await User.objects.filter(id=users["alice"].id).aupdate(display_name="Ally")
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    alice = await connect(users, "alice")
    await alice.send({"type": "Typing", "payload": {"channel_id": world["text"]}})
    frame = await bob.expect("UserTyping")
    assert frame["payload"] == {
        "channel_id": world["text"],
        "user_id": users["alice"].id,
        "username": "Ally",
    }
    await alice.close()
    await bob.close()


async def test_message_event_shapes(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    alice = await connect(users, "alice")
    await alice.send(send_frame(world["text"], b"hi", expires_at="2030-01-01T12:00:00.5+02:00"))
    ack = await alice.expect("MessageAck")
    mid = ack["payload"]["message_id"]
    new = await bob.expect("NewMessage")
    p = new["payload"]
    assert set(p) == {
        "id",
        "channel_id",
        "sender_token",
        "encrypted_body",
        "timestamp",
        "expires_at",
        "has_attachments",
        "edited",
    }
    assert TS.match(p["timestamp"]), p["timestamp"]
    assert p["expires_at"] == "2030-01-01T10:00:00.500000Z" or p["expires_at"] == (
        "2030-01-01T10:00:00.500Z"
    ), p["expires_at"]

    body = base64.b64encode(b"edited").decode()
    await alice.send(
        {"type": "EditMessage", "payload": {"message_id": mid, "encrypted_body": body}}
    )
    frame = await bob.expect("MessageEdited")
    assert frame["payload"] == {
        "message_id": mid,
        "channel_id": world["text"],
        "encrypted_body": body,
    }

    await bob.send({"type": "AddReaction", "payload": {"message_id": mid, "emoji": "👍"}})
    added = await bob.expect("ReactionAdded")
    assert set(added["payload"]) == {"message_id", "channel_id", "sender_token", "emoji"}
    assert added["payload"]["emoji"] == "👍"
    assert isinstance(added["payload"]["sender_token"], str)
    await bob.send({"type": "RemoveReaction", "payload": {"message_id": mid, "emoji": "👍"}})
    removed = await bob.expect("ReactionRemoved")
    assert set(removed["payload"]) == {"message_id", "channel_id", "sender_token", "emoji"}

    await alice.send(
        {"type": "PinMessage", "payload": {"channel_id": world["text"], "message_id": mid}}
    )
    pinned = await bob.expect("MessagePinned")
    assert pinned["payload"] == {
        "channel_id": world["text"],
        "message_id": mid,
        "pinned_by": users["alice"].id,
    }
    system = await bob.expect("NewMessage")
    sp = system["payload"]
    assert sp["message_type"] == "system"
    assert sp["sender_token"] == ""
    assert sp["expires_at"] is None
    assert sp["has_attachments"] is False
    assert "reply_to_id" not in sp
    assert json.loads(base64.b64decode(sp["encrypted_body"])) == {
        "event": "message_pinned",
        "username": "alice",
        "user_id": users["alice"].id,
        "message_id": mid,
    }
    await alice.send(
        {"type": "UnpinMessage", "payload": {"channel_id": world["text"], "message_id": mid}}
    )
    unpinned = await bob.expect("MessageUnpinned")
    assert unpinned["payload"] == {"channel_id": world["text"], "message_id": mid}
    await bob.expect("NewMessage")

    await alice.send({"type": "DeleteMessage", "payload": {"message_id": mid}})
    deleted = await bob.expect("MessageDeleted")
    assert deleted["payload"] == {"message_id": mid, "channel_id": world["text"]}

    await bob.send({"type": "MarkRead", "payload": {"channel_id": world["text"]}})
    read = await bob.expect("ReadStateUpdated")
    assert set(read["payload"]) == {"channel_id", "last_read_at"}
    assert TS.match(read["payload"]["last_read_at"])
    await alice.close()
    await bob.close()


async def test_call_flow_shapes(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    alice = await connect(users, "alice")
    bob = await connect(users, "bob")
    await alice.send({"type": "CallInvite", "payload": {"channel_id": world["dm"]}})
    ring = await bob.expect("CallRinging")
    assert ring["payload"] == {
        "channel_id": world["dm"],
        "caller_id": users["alice"].id,
        "caller_name": "alice",
    }
    await alice.sync()
    assert [f["type"] for f in alice.pending if f["type"] != "PresenceUpdate"] == []
    await bob.send({"type": "CallAccept", "payload": {"channel_id": world["dm"]}})
    for ws in (alice, bob):
        acc = await ws.expect("CallAccepted")
        assert acc["payload"] == {"channel_id": world["dm"], "user_id": users["bob"].id}
    await alice.send({"type": "CallEnd", "payload": {"channel_id": world["dm"]}})
    for ws in (alice, bob):
        msg = await ws.expect("NewMessage")
        body = json.loads(base64.b64decode(msg["payload"]["encrypted_body"]))
        assert set(body) == {"event", "username", "user_id", "duration_secs"}
        assert isinstance(body["duration_secs"], int)
        ended = await ws.expect("CallEnded")
        assert ended["payload"] == {"channel_id": world["dm"], "ended_by": users["alice"].id}
    await alice.close()
    await bob.close()


async def test_resume_replays_then_resumed(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    await alice.subscribe(world["text"])
    sid = alice.session_id
    await alice.close()
    bob = await connect(users, "bob")
    mid = await send(bob, world["text"])
    await settle(0.1)
    again = await connect(users, "alice")
    await again.send({"type": "Resume", "payload": {"session_id": sid}})
    frames = []
    while True:
        f = json.loads(await raw(again))
        if f["type"] == "Resumed":
            break
        frames.append(f)
    news = [f for f in frames if f["type"] == "NewMessage"]
    assert [f["payload"]["id"] for f in news] == [mid]
    assert f == {"type": "Resumed", "payload": {"replayed_count": len(frames)}}
    await again.close()
    await bob.close()
