"""Resume, replay store bounds, hole filling and graceful shutdown (websocket.md 6)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from realtime.events import Event, adispatch, to_channels, to_users
from realtime.replay import Appended, SessionRecord
from realtime.store import get_store
from tests.chat.gateway.conftest import Ws, settle
from tests.helpers import TestUser, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


def _event(n: int, audience: Any) -> Event:
    return Event("ReadStateUpdated", {"n": n}, audience)


async def _numbers(ws: Ws, count: int) -> list[int]:
    return [(await ws.expect("ReadStateUpdated"))["payload"]["n"] for _ in range(count)]


async def test_resume_replays_what_the_session_missed_in_order_once(
    users: dict[str, TestUser], server: dict
) -> None:
    alice_id = uuid.UUID(users["alice"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    await adispatch(_event(1, to_channels(server["first"])))
    assert await _numbers(bob, 1) == [1]
    await bob.close()  # a clean close: everything sent so far was received
    # While bob is away: channel events, server events, events for bob, and for others.
    bob_id = uuid.UUID(users["bob"].id)
    await adispatch(_event(2, to_channels(server["first"])))
    await adispatch(_event(3, to_users(bob_id)))
    await adispatch(_event(4, to_users(alice_id)))
    await adispatch(_event(5, to_channels(server["first"]) | to_users(bob_id)))

    again = Ws(users["bob"].access_token)
    await again.open()
    await adispatch(_event(6, to_users(bob_id)))  # live on the new connection
    assert await _numbers(again, 1) == [6]
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert await _numbers(again, 3) == [2, 3, 5]
    assert (await again.expect("Resumed"))["payload"] == {"replayed_count": 3}
    # The session was drained: a second resume replays nothing.
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert (await again.expect("Resumed"))["payload"] == {"replayed_count": 0}
    await again.close()


async def test_resume_refuses_unknown_foreign_and_expired_sessions(
    users: dict[str, TestUser],
) -> None:
    alice = Ws(users["alice"].access_token)
    await alice.open()
    await alice.close()
    bob = Ws(users["bob"].access_token)
    await bob.open()
    for session_id in (str(uuid.uuid4()), alice.session_id):
        await bob.send({"type": "Resume", "payload": {"session_id": session_id}})
        assert await bob.recv() == {"type": "InvalidSession"}
    store = get_store()
    old = SessionRecord(users["bob"].id, time.time() - 301, {})
    await store.save_session("11111111-1111-4111-8111-111111111111", old)
    await bob.send(
        {"type": "Resume", "payload": {"session_id": "11111111-1111-4111-8111-111111111111"}}
    )
    assert await bob.recv() == {"type": "InvalidSession"}
    await bob.send({"type": "Ping"})  # the connection carries on
    await bob.expect("Pong")
    await bob.close()


async def test_resume_beyond_the_store_bound_is_invalid_not_a_gap(
    users: dict[str, TestUser],
) -> None:
    bob_id = uuid.UUID(users["bob"].id)
    with haven_settings(ws_replay_max_events=3):
        bob = Ws(users["bob"].access_token)
        await bob.open()
        await bob.close()
        for n in range(10):
            await adispatch(_event(n, to_users(bob_id)))
        again = Ws(users["bob"].access_token)
        await again.open()
        await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
        assert await again.recv() == {"type": "InvalidSession"}
        await again.close()


async def test_abnormal_close_replays_from_the_safe_cursor(
    users: dict[str, TestUser],
) -> None:
    """A connection that dropped (1006) may not have received what was written to it last:
    resume repeats those events rather than risk a gap."""
    bob_id = uuid.UUID(users["bob"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await adispatch(_event(1, to_users(bob_id)))
    assert await _numbers(bob, 1) == [1]
    await bob.close(1006)
    await adispatch(_event(2, to_users(bob_id)))
    again = Ws(users["bob"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert await _numbers(again, 2) == [1, 2]
    assert (await again.expect("Resumed"))["payload"] == {"replayed_count": 2}
    await again.close()


async def test_a_dropped_doorbell_is_filled_from_the_store(users: dict[str, TestUser]) -> None:
    bob_id = uuid.UUID(users["bob"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    group = f"user.{bob_id}"
    # Appended to the store but the layer "lost" the doorbell:
    for n in (1, 2):
        lost = _event(n, to_users(bob_id))
        await get_store().aappend([group], Appended(lost.id, lost.type, lost.frame))
    await adispatch(_event(3, to_users(bob_id)))
    assert await _numbers(bob, 3) == [1, 2, 3]
    await bob.silent()
    await bob.close()


async def test_a_hole_beyond_the_store_closes_the_connection(
    users: dict[str, TestUser],
) -> None:
    bob_id = uuid.UUID(users["bob"].id)
    with haven_settings(ws_replay_max_events=2):
        bob = Ws(users["bob"].access_token)
        await bob.open()
        for n in range(6):
            lost = _event(n, to_users(bob_id))
            appended = Appended(lost.id, lost.type, lost.frame)
            await get_store().aappend([f"user.{bob_id}"], appended)
        await adispatch(_event(9, to_users(bob_id)))
        assert await bob.recv_raw() == {"type": "websocket.close", "code": 1013}
        await bob.close(1006)
        again = Ws(users["bob"].access_token)
        await again.open()
        await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
        assert await again.recv() == {"type": "InvalidSession"}
        await again.close()


async def test_graceful_shutdown_saves_the_exact_state_and_closes_1001(
    users: dict[str, TestUser],
) -> None:
    bob_id = uuid.UUID(users["bob"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await adispatch(_event(1, to_users(bob_id)))
    assert await _numbers(bob, 1) == [1]
    await bob.comm.send_input({"type": "haven.shutdown"})
    assert await bob.recv_raw() == {"type": "websocket.close", "code": 1001}
    await bob.close(1001)
    await adispatch(_event(2, to_users(bob_id)))
    again = Ws(users["bob"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert await _numbers(again, 1) == [2]
    assert (await again.expect("Resumed"))["payload"] == {"replayed_count": 1}
    await again.close()


async def test_overflow_makes_the_session_unresumable(users: dict[str, TestUser]) -> None:
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.comm.send_input({"type": "haven.overflow"})
    await bob.close(1006)
    again = Ws(users["bob"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert await again.recv() == {"type": "InvalidSession"}
    await again.close()


async def test_sessions_are_checkpointed_while_open(users: dict[str, TestUser]) -> None:
    """A process killed outright leaves its last checkpoint (at most a second or two old)."""
    bob_id = uuid.UUID(users["bob"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await adispatch(_event(1, to_users(bob_id)))
    assert await _numbers(bob, 1) == [1]
    record = await get_store().load_session(bob.session_id)
    assert record is not None
    assert record.user_id == users["bob"].id
    assert f"user.{bob_id}" in record.cursors
    await settle(1.3)
    # Nobody resumes from a live session in practice; read what a takeover would replay.
    again = Ws(users["bob"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    assert await _numbers(again, 1) == [1]  # never acknowledged by any inbound frame
    await again.expect("Resumed")
    for ws in (bob, again):
        await ws.close()


async def test_resume_skips_only_the_users_own_presence(
    users: dict[str, TestUser], server: dict
) -> None:
    """Told by the event type stored with each entry: the user's own PresenceUpdate (superseded
    by the live connection's) is not replayed; other people's presence, and other events about
    the user, are."""
    bob_id, alice_id = users["bob"].id, users["alice"].id
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    await bob.close()
    channel = to_channels(server["first"])
    await adispatch(Event("PresenceUpdate", {"user_id": bob_id, "status": "offline"}, channel))
    await adispatch(Event("PresenceUpdate", {"user_id": alice_id, "status": "idle"}, channel))
    await adispatch(Event("MemberUpdated", {"user_id": bob_id}, channel))

    again = Ws(users["bob"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": bob.session_id}})
    replayed = [await again.recv() for _ in range(2)]
    assert [(f["type"], f["payload"]["user_id"]) for f in replayed] == [
        ("PresenceUpdate", alice_id),
        ("MemberUpdated", bob_id),
    ]
    assert (await again.expect("Resumed"))["payload"] == {"replayed_count": 2}
    await again.close()


async def test_the_store_keeps_each_events_type(users: dict[str, TestUser]) -> None:
    group = f"user.{users['bob'].id}"
    (last,) = await get_store().last_ids([group])
    await get_store().aappend([group], Appended("e1", "ReadStateUpdated", "{}"))
    entries = await get_store().read_after(group, last)
    assert entries is not None
    assert [(e.event_id, e.type) for e in entries] == [("e1", "ReadStateUpdated")]
