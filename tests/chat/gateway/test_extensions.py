"""Extension points, the send rate limit and the admin's active_connections."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat.gateway.identity import RATE_LIMITED
from chat.gateway.timers import maybe_sweep
from haven_site.api.errors import BadRequest
from haven_site.ratelimit import count_ws_op
from realtime import protocol
from realtime.registry import get_registry
from tests.chat.gateway.conftest import Ws
from tests.helpers import Api, TestUser, eventually, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def echo_type() -> Any:
    @protocol.client_message("TestEcho", channel_id=protocol.Kind.UUID, note=protocol.Kind.OPT_STR)
    async def echo(conn: Any, payload: dict[str, Any]) -> None:
        if payload["note"] == "fail":
            raise BadRequest("Nope, not that")
        await conn.send_event("TestEchoed", {"channel_id": str(payload["channel_id"])})

    yield echo
    protocol._types.pop("TestEcho")


async def test_other_apps_register_client_message_types(
    users: dict[str, TestUser], echo_type: Any
) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    channel = str(uuid.uuid4())
    await ws.send({"type": "TestEcho", "payload": {"channel_id": channel}})
    assert (await ws.expect("TestEchoed"))["payload"] == {"channel_id": channel}
    await ws.send({"type": "TestEcho", "payload": {"channel_id": channel, "note": "fail"}})
    assert (await ws.expect("Error"))["payload"] == {"message": "Nope, not that"}
    await ws.close()


async def test_last_disconnect_hooks_run_once_per_user(users: dict[str, TestUser]) -> None:
    seen: list[uuid.UUID] = []

    async def hook(user_id: uuid.UUID) -> None:
        seen.append(user_id)

    protocol.on_last_disconnect(hook)
    try:
        first, second = Ws(users["alice"].access_token), Ws(users["alice"].access_token)
        await first.open()
        await second.open()
        await first.close()
        assert seen == []
        await second.close()
        assert seen == [uuid.UUID(users["alice"].id)]
    finally:
        protocol._last_disconnect_hooks.remove(hook)


async def test_connections_of_a_dead_process_expire_and_go_offline(
    users: dict[str, TestUser],
) -> None:
    """A registry entry nobody refreshes (its process died) is swept: offline + hooks."""
    seen: list[uuid.UUID] = []

    async def hook(user_id: uuid.UUID) -> None:
        seen.append(user_id)

    protocol.on_last_disconnect(hook)
    try:
        with haven_settings(ws_heartbeat_timeout_secs=3):
            registry = get_registry()
            assert await registry.register(users["bob"].id, "dead-connection", 5)
            await registry.aset_status(users["bob"].id, "online")
            assert await sync_to_async(registry.connected_users)() == 1
            import asyncio

            await asyncio.sleep(4.2)  # entry_ttl = 3 + 1 s
            await maybe_sweep()
        assert seen == [uuid.UUID(users["bob"].id)]
        assert registry.get_statuses([users["bob"].id]) == [None]
        assert await sync_to_async(registry.connected_users)() == 0
    finally:
        protocol._last_disconnect_hooks.remove(hook)


def test_send_rate_limit_is_30_per_10_seconds() -> None:
    user = uuid.uuid4()
    assert RATE_LIMITED == "Rate limit exceeded \u2014 slow down"
    with haven_settings(rate_limits_enabled=True):
        results = [count_ws_op("send", user)[0] for _ in range(31)]
        assert results == [True] * 30 + [False]
        assert count_ws_op("send", uuid.uuid4())[0]  # per user


def test_admin_stats_counts_connected_users(users: dict[str, TestUser], api: Api) -> None:
    from asgiref.sync import async_to_sync

    registry = get_registry()
    for conn in ("a1", "a2"):
        assert async_to_sync(registry.register)(users["alice"].id, conn, 5)
    assert async_to_sync(registry.register)(users["bob"].id, "b1", 5)
    response = api.as_("alice").get("/api/v1/admin/stats")
    assert response.status_code == 200, response
    assert response.json() == {
        "total_users": 3,
        "total_servers": 0,
        "total_channels": 0,
        "total_messages": 0,
        "active_connections": 2,
    }
    assert api.as_("bob").get("/api/v1/admin/stats").status_code == 403


@pytest.fixture
def slow_type() -> Any:
    """A handler that publishes to its own user, then replies after a pause (like SendMessage:
    the echo of what it published must not overtake its reply)."""
    from realtime.events import Event, adispatch, to_users

    @protocol.client_message("TestSlow", count=protocol.Kind.OPT_STR)
    async def slow(conn: Any, payload: dict[str, Any]) -> None:
        for n in range(int(payload["count"] or 1)):
            await adispatch(Event("TestEcho", {"n": n}, to_users(conn.user_id)))
        await asyncio.sleep(0.2)
        await conn.send_event("TestAck")

    yield slow
    protocol._types.pop("TestSlow")


async def test_events_wait_until_the_current_message_is_handled(
    users: dict[str, TestUser], slow_type: Any
) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    await ws.send({"type": "TestSlow", "payload": {"count": "2"}})
    assert (await ws.recv())["type"] == "TestAck"
    assert [(await ws.expect("TestEcho"))["payload"]["n"] for _ in range(2)] == [0, 1]
    await ws.close()


async def test_a_connection_too_far_behind_is_closed_and_not_resumable(
    users: dict[str, TestUser], slow_type: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chat.gateway import inbound

    monkeypatch.setattr(inbound, "BACKLOG_LIMIT", 3)
    ws = Ws(users["alice"].access_token)
    await ws.open()
    await ws.send({"type": "TestSlow", "payload": {"count": "5"}})
    assert await ws.recv_raw() == {"type": "websocket.close", "code": 1013}
    await ws.silent()  # not even the reply of the message being handled
    await ws.close(1006)
    again = Ws(users["alice"].access_token)
    await again.open()
    await again.send({"type": "Resume", "payload": {"session_id": ws.session_id}})
    assert await again.recv() == {"type": "InvalidSession"}
    await again.close()


def _metric(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_sockets_frames_and_resumes(users: dict[str, TestUser]) -> None:
    from realtime.events import Event, adispatch, to_users

    opened = _metric("haven_ws_open_sockets")
    frames = _metric("haven_ws_events_delivered_total")
    resumed = _metric("haven_ws_replay_outcomes_total", outcome="resumed")
    invalid = _metric("haven_ws_replay_outcomes_total", outcome="invalid")

    sockets = [Ws(users["alice"].access_token) for _ in range(3)]
    for ws in sockets:
        await ws.open()
    # Counted when each connection is done with its handshake.
    await eventually(lambda: _metric("haven_ws_open_sockets") == opened + 3)
    await eventually(lambda: _metric("haven_ws_events_delivered_total") == frames + 3)  # Hellos
    # One event to the user's three sockets: three frames, counted in one batch by the hub.
    await adispatch(Event("ReadStateUpdated", {"n": 1}, to_users(uuid.UUID(users["alice"].id))))
    for ws in sockets:
        await ws.expect("ReadStateUpdated")
    await eventually(lambda: _metric("haven_ws_events_delivered_total") == frames + 6)
    first = sockets[0]
    await first.send({"type": "Resume", "payload": {"session_id": str(uuid.uuid4())}})
    assert await first.recv() == {"type": "InvalidSession"}
    assert _metric("haven_ws_replay_outcomes_total", outcome="invalid") == invalid + 1
    await first.close()
    assert _metric("haven_ws_open_sockets") == opened + 2
    await sockets[1].send({"type": "Resume", "payload": {"session_id": first.session_id}})
    assert (await sockets[1].expect("Resumed"))["payload"] == {"replayed_count": 0}
    await eventually(
        lambda: _metric("haven_ws_replay_outcomes_total", outcome="resumed") == resumed + 1
    )
    # InvalidSession, Resumed
    await eventually(lambda: _metric("haven_ws_events_delivered_total") == frames + 8)
    for ws in sockets[1:]:
        await ws.close()
    assert _metric("haven_ws_open_sockets") == opened
