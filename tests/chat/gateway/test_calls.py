"""Call signalling over the socket (websocket.md 3.12) and the last-disconnect cleanup (1.8):
voice left, rings and connected calls ended, also when the user signs out over REST."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from realtime import protocol
from realtime.hub import get_hub
from tests.chat.gateway.conftest import Ws
from tests.factories import (
    add_channel,
    add_member,
    make_dm,
    make_server,
)
from tests.helpers import Api, TestUser, haven_settings
from tests.voice.test_voice import LIVEKIT
from voice import calls

pytestmark = pytest.mark.django_db(transaction=True)


def _world(users: dict[str, TestUser]) -> dict[str, str]:
    alice, bob, carol = (uuid.UUID(users[n].id) for n in ("alice", "bob", "carol"))
    server = make_server(alice).server
    add_member(server, bob)
    assert server.system_channel is not None
    return {
        "text": str(server.system_channel.id),
        "voice": str(add_channel(server, "voice").id),
        "dm": str(make_dm(alice, bob).id),
        "group": str(make_dm(alice, bob, carol, group=True).id),
    }


@pytest.fixture
async def world(users: dict[str, TestUser]) -> AsyncIterator[dict[str, str]]:
    yield await sync_to_async(_world)(users)
    for task in list(calls._timers):
        task.cancel()
    await sync_to_async(connections.close_all)()


async def connect(users: dict[str, TestUser], name: str) -> Ws:
    ws = Ws(users[name].access_token)
    await ws.open()
    return ws


def call(kind: str, channel: str) -> dict[str, Any]:
    return {"type": kind, "payload": {"channel_id": channel}}


async def error_of(ws: Ws, message: dict[str, Any]) -> str:
    await ws.send(message)
    return str((await ws.expect("Error"))["payload"]["message"])


async def until(ws: Ws, event_type: str, wait: float = 5) -> list[dict[str, Any]]:
    """Frames up to and including the first of ``event_type``."""
    frames = []
    while True:
        frame = await ws.recv(wait)
        frames.append(frame)
        if frame["type"] == event_type:
            return frames


def system_body(frame: dict[str, Any]) -> dict[str, Any]:
    assert frame["type"] == "NewMessage", frame
    assert frame["payload"]["message_type"] == "system", frame
    body: dict[str, Any] = json.loads(base64.b64decode(frame["payload"]["encrypted_body"]))
    return body


async def close_all(*sockets: Ws) -> None:
    for ws in sockets:
        await ws.close()


async def test_invite_accept_end(users: dict[str, TestUser], world: dict[str, str]) -> None:
    alice = await connect(users, "alice")
    bob1, bob2 = await connect(users, "bob"), await connect(users, "bob")
    carol = await connect(users, "carol")
    dm = world["dm"]
    await alice.send(call("CallInvite", dm))
    for ws in (bob1, bob2):
        ringing = await ws.expect("CallRinging")
        assert ringing["payload"] == {
            "channel_id": dm,
            "caller_id": users["alice"].id,
            "caller_name": "alice",
        }
    await alice.silent()  # no confirmation to the caller
    await carol.silent()
    # A non-member cannot answer someone else's call.
    assert await error_of(carol, call("CallAccept", dm)) == "Not a member of this channel"
    await bob1.send(call("CallAccept", dm))
    for ws in (alice, bob1, bob2):
        accepted = await ws.expect("CallAccepted")
        assert accepted["payload"] == {"channel_id": dm, "user_id": users["bob"].id}
    await alice.send(call("CallEnd", dm))
    for ws in (alice, bob1, bob2):
        body = system_body(await ws.recv())
        assert body == {
            "event": "call_ended",
            "username": "alice",
            "user_id": users["alice"].id,
            "duration_secs": body["duration_secs"],
        }
        assert body["duration_secs"] in (0, 1)
        ended = await ws.expect("CallEnded")
        assert ended["payload"] == {"channel_id": dm, "ended_by": users["alice"].id}
        await ws.silent(0.2)
    await carol.silent()
    await close_all(alice, bob1, bob2, carol)


async def test_reject_and_errors(users: dict[str, TestUser], world: dict[str, str]) -> None:
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    dm = world["dm"]
    no_call = "No active call in this channel"
    assert await error_of(bob, call("CallAccept", dm)) == no_call
    assert await error_of(bob, call("CallReject", dm)) == no_call
    assert await error_of(alice, call("CallInvite", world["text"])) == (
        "Calls are only supported in DMs and group DMs"
    )
    assert await error_of(alice, call("CallInvite", str(uuid.uuid4()))) == "Channel not found"
    assert await error_of(carol, call("CallInvite", dm)) == "Not a member of this channel"
    assert await error_of(carol, call("CallEnd", dm)) == "Not a member of this channel"

    await alice.send(call("CallInvite", dm))
    await bob.expect("CallRinging")
    assert await error_of(alice, call("CallInvite", dm)) == (
        "A call is already active in this channel"
    )
    await bob.send(call("CallReject", dm))
    for ws in (alice, bob):
        rejected = await ws.expect("CallRejected")
        assert rejected["payload"] == {"channel_id": dm, "user_id": users["bob"].id}
    assert await error_of(bob, call("CallAccept", dm)) == no_call
    # CallEnd without a call still tells everyone (websocket.md 3.12), without a system message.
    await bob.send(call("CallEnd", dm))
    for ws in (alice, bob):
        ended = await ws.expect("CallEnded")
        assert ended["payload"] == {"channel_id": dm, "ended_by": users["bob"].id}
        await ws.silent(0.2)
    await carol.silent()
    await close_all(alice, bob, carol)


async def test_group_rings_everyone_but_the_caller_and_times_out(
    users: dict[str, TestUser], world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "RING_SECONDS", 0.5)
    alice, bob, carol = [await connect(users, n) for n in ("alice", "bob", "carol")]
    await alice.send(call("CallInvite", world["group"]))
    for ws in (bob, carol):
        assert (await ws.expect("CallRinging"))["payload"]["caller_id"] == users["alice"].id
    # Nobody answers: after the ring time, CallEnded by the caller to everyone, caller included.
    for ws in (alice, bob, carol):
        ended = await ws.expect("CallEnded")
        assert ended["payload"] == {"channel_id": world["group"], "ended_by": users["alice"].id}
    await close_all(alice, bob, carol)


async def test_the_ring_sweeper_runs_once_per_process_with_the_hub(
    users: dict[str, TestUser],
) -> None:
    assert calls.run_ring_sweeper in protocol.process_tasks()
    started: list[int] = []

    async def probe() -> None:
        started.append(1)

    protocol.process_task(probe)
    try:
        first, second = await connect(users, "alice"), await connect(users, "bob")
        hub = get_hub()
        assert started == [1]
        assert len(hub.tasks) == len(protocol.process_tasks())
        sweeper = hub.tasks[protocol.process_tasks().index(calls.run_ring_sweeper)]
        assert not sweeper.done()
        await close_all(first, second)
    finally:
        protocol._process_tasks.remove(probe)


async def _join_voice(api: Api, name: str, channel: str) -> None:
    response = await sync_to_async(api.as_(name).post)(f"/api/v1/voice/{channel}/join")
    assert response.status_code == 200, response


async def test_last_disconnect_leaves_voice_and_ends_the_ring(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    alice = await connect(users, "alice")
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "online"
    with haven_settings(**LIVEKIT):
        await _join_voice(api, "alice", world["voice"])
    joined = await bob.expect("VoiceStateUpdate")
    assert joined["payload"]["joined"] is True
    await alice.send(call("CallInvite", world["dm"]))
    await bob.expect("CallRinging")
    second = await connect(users, "alice")  # alice was online: no second "online"
    await alice.close()
    await bob.silent()  # alice is still connected elsewhere: nothing happens
    await second.close()
    frames = await until(bob, "CallEnded")
    assert [f["type"] for f in frames] == ["PresenceUpdate", "VoiceStateUpdate", "CallEnded"]
    assert frames[0]["payload"] == {"user_id": users["alice"].id, "status": "offline"}
    assert frames[1]["payload"] == {
        "channel_id": world["voice"],
        "user_id": users["alice"].id,
        "username": "alice",
        "joined": False,
    }
    assert frames[2]["payload"] == {"channel_id": world["dm"], "ended_by": users["alice"].id}
    participants = await sync_to_async(_roster)(world["voice"])
    assert participants == []
    await bob.silent()
    await bob.close()


def _roster(channel_id: str) -> list[uuid.UUID]:
    from voice import state

    return state.roster(uuid.UUID(channel_id))


async def test_logout_closes_the_socket_leaves_voice_and_ends_the_call(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    alice = await connect(users, "alice")
    await bob.expect("PresenceUpdate")
    with haven_settings(**LIVEKIT):
        await _join_voice(api, "alice", world["voice"])
    await bob.expect("VoiceStateUpdate")
    await alice.send(call("CallInvite", world["dm"]))
    await bob.expect("CallRinging")
    await bob.send(call("CallAccept", world["dm"]))
    await bob.expect("CallAccepted")
    await alice.expect("CallAccepted")

    response = await sync_to_async(api.as_("alice").post)("/api/v1/auth/logout")
    assert response.status_code in (200, 204), response
    assert await alice.recv_raw() == {"type": "websocket.close", "code": 1008}
    await alice.close(1008)
    frames = await until(bob, "CallEnded")
    assert [f["type"] for f in frames] == [
        "PresenceUpdate",
        "VoiceStateUpdate",
        "NewMessage",
        "CallEnded",
    ]
    assert frames[0]["payload"]["status"] == "offline"
    assert frames[1]["payload"]["joined"] is False
    assert system_body(frames[2])["event"] == "call_ended"
    assert frames[3]["payload"] == {"channel_id": world["dm"], "ended_by": users["alice"].id}
    await bob.silent()
    await bob.close()


def _set_request(channel_id: str, status: str, initiator: str) -> None:
    from chat.models import Channel

    Channel.objects.filter(id=channel_id).update(dm_status=status, dm_initiator_id=initiator)


async def test_a_pending_or_declined_dm_request_takes_no_calls(
    users: dict[str, TestUser], world: dict[str, str]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    dm = world["dm"]
    await sync_to_async(_set_request)(dm, "pending", users["alice"].id)
    assert await error_of(alice, call("CallInvite", dm)) == "DM request is still pending"
    assert await error_of(bob, call("CallInvite", dm)) == "Accept the DM request first"
    await sync_to_async(_set_request)(dm, "declined", users["alice"].id)
    assert await error_of(alice, call("CallInvite", dm)) == "This DM request was declined"
    await bob.silent()  # nothing rang
    await sync_to_async(_set_request)(dm, "active", users["alice"].id)
    await alice.send(call("CallInvite", dm))
    await bob.expect("CallRinging")
    await close_all(alice, bob)


async def test_a_block_either_way_refuses_calls(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    dm = world["dm"]
    await alice.send(call("CallInvite", dm))
    await bob.expect("CallRinging")
    # bob blocks alice while it rings: he cannot pick up, and neither can ring the other.
    blocked = await sync_to_async(api.as_("bob").post)(f"/api/v1/users/{users['alice'].id}/block")
    assert blocked.status_code == 200, blocked
    assert await error_of(bob, call("CallAccept", dm)) == "Cannot call this user"
    await bob.send(call("CallEnd", dm))  # hanging up always works
    await alice.expect("CallEnded")
    await bob.expect("CallEnded")
    for ws in (alice, bob):
        assert await error_of(ws, call("CallInvite", dm)) == "Cannot call this user"
    # Group calls are not one-to-one DMs: a block does not silence them.
    await alice.send(call("CallInvite", world["group"]))
    await bob.expect("CallRinging")
    await close_all(alice, bob)
