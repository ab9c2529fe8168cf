"""The per-process timers of the gateway's connections (websocket.md 1.7, 6): idle timeouts,
session checkpoints and registry refreshes, for every connection of the process at once, and the
sweep that retires connections of dead instances. One task per process (started with the hub,
``realtime.protocol.process_task``) instead of one sleeping task per socket."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings

from chat.gateway.presence import user_went_offline
from realtime import protocol
from realtime.hub import get_hub
from realtime.registry import get_registry, refresh_every
from realtime.replay import SessionRecord
from realtime.store import get_store

if TYPE_CHECKING:
    from chat.gateway.consumer import GatewayConsumer

logger = logging.getLogger("haven.gateway")

SWEEP_EVERY_SECS = 10.0

_last_sweep = 0.0


async def maybe_sweep() -> None:
    """Retire connections of dead instances (at most every few seconds per process)."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < SWEEP_EVERY_SECS:
        return
    _last_sweep = now
    for user in await get_registry().sweep():
        await user_went_offline(uuid.UUID(user))


def tick_every() -> float:
    return min(1.0, settings.HAVEN.ws_heartbeat_timeout_secs / 3)


async def tick_all(connections: list[GatewayConsumer]) -> None:
    """The timers of every connection of the process, once per ``tick_every()``: idle
    timeouts, then one Redis round trip for all due checkpoints and one for all due registry
    refreshes."""
    now = time.monotonic()
    timeout = settings.HAVEN.ws_heartbeat_timeout_secs
    saves: dict[str, tuple[GatewayConsumer, SessionRecord, tuple[Any, ...]]] = {}
    refreshes: list[GatewayConsumer] = []
    for conn in connections:
        if conn.closing:
            continue
        if now - conn.checkpoints.last_inbound > timeout:
            await conn.close(1000, "abnormal")
            continue
        due = conn.checkpoints.due()
        if due is not None:
            saves[conn.session_id] = (conn, *due)
        if now - conn.last_refresh >= refresh_every():
            conn.last_refresh = now
            refreshes.append(conn)
    hub = get_hub()
    if saves:
        async with hub.tick_lock:
            live = {sid: v for sid, v in saves.items() if not v[0].cleaned}
            await get_store().save_sessions({sid: v[1] for sid, v in live.items()})
        for conn, _, state in saves.values():
            conn.checkpoints.saved = state
    if refreshes:
        await get_registry().refresh_many([(c.uid, c.conn_id) for c in refreshes])
        await maybe_sweep()


@protocol.process_task
async def run_timers() -> None:
    hub = get_hub()
    while True:
        await asyncio.sleep(tick_every())
        try:
            await tick_all(list(hub.connections))
        except Exception:
            logger.exception("Gateway timer failed")
