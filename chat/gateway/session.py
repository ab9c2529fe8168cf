"""The client messages about the connection itself (websocket.md 3.6-3.8, 3.13-3.14, 5, 6):
Ping, Subscribe, Unsubscribe, Typing, SetStatus and Resume.

Registered when the chat app is ready (``chat.apps.ChatConfig.ready``), like the message
operations of ``chat.gateway.messages``; the connection's state lives in
``chat.gateway.consumer.GatewayConsumer``.
"""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from chat.events import Event, adispatch, encode_frame
from chat.gateway import protocol
from chat.gateway.consumer import GatewayConsumer
from chat.gateway.registry import get_registry
from chat.gateway.store import get_store, seq_of
from haven_site import metrics

K = protocol.Kind


@protocol.client_message("Ping", unit=True)
async def ping(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.send_event("Pong")


@protocol.client_message("Subscribe", channel_id=K.UUID)
async def subscribe(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    from chat.access import subscribable_channel

    channel_id = payload["channel_id"]
    server_id = await database_sync_to_async(subscribable_channel)(conn.user_id, channel_id)
    await conn.subscribe(channel_id, server_id)
    await conn.send_event("Subscribed", {"channel_id": str(channel_id)})


@protocol.client_message("Unsubscribe", channel_id=K.UUID)
async def unsubscribe(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.unsubscribe(payload["channel_id"])


@protocol.client_message("Typing", channel_id=K.UUID)
async def typing(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    from chat.access import can_see_channel
    from chat.events import to_channels

    channel_id = payload["channel_id"]
    # A subscription implies access (revoked by "recheck" when access goes).
    if channel_id not in conn.channels and not await database_sync_to_async(can_see_channel)(
        conn.user_id, channel_id
    ):
        return  # dropped silently (websocket.md 3.7)
    body = {"channel_id": str(channel_id), "user_id": conn.uid, "username": conn.display_name}
    await adispatch(Event("UserTyping", body, to_channels(channel_id)))


@protocol.client_message("SetStatus", status=K.STR)
async def set_status(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    from chat.presence import STATUSES

    status = payload["status"]
    if status not in STATUSES:
        await conn.send_error(f"Invalid status: {status}. Valid: online, idle, dnd, invisible")
        return
    await get_registry().aset_status(conn.uid, status)
    await conn.broadcast_presence(status)


@protocol.client_message("Resume", session_id=K.UUID)
async def resume(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """Replay what the named session missed, in order and once, then ``Resumed``; or
    ``InvalidSession`` when that cannot be done exactly (websocket.md 6.2)."""
    session_id = str(payload["session_id"])
    store = get_store()
    record = await store.load_session(session_id)
    ttl = settings.HAVEN.ws_session_ttl_secs
    if record is None or record.user_id != conn.uid or time.time() - record.last_active > ttl:
        metrics.replay_outcome("invalid")
        await conn.send_event("InvalidSession")
        return
    own_presence = _own_presence_prefix(conn.uid)
    merged: dict[str, tuple[int, str, str]] = {}
    ends: dict[str, str] = {}
    for group, cursor in record.cursors.items():
        entries = await store.read_after(group, cursor)
        if entries is None:
            metrics.replay_outcome("invalid")
            await conn.send_event("InvalidSession")
            return
        # Events after this connection joined the same group reach it live already.
        upto = seq_of(conn.join_cursors[group]) if group in conn.join_cursors else None
        ends[group] = entries[-1].sid if entries else cursor
        for entry in entries:
            seq = seq_of(entry.sid)
            if (upto is None or seq <= upto) and not entry.frame.startswith(own_presence):
                merged.setdefault(entry.event_id, (seq, entry.event_id, entry.frame))
    replayed = 0
    for _, event_id, frame in sorted(merged.values()):
        if await conn.deliver(event_id, frame):
            replayed += 1
    record.cursors.update(ends)
    record.last_active = time.time()
    await store.save_session(session_id, record)
    metrics.replay_outcome("resumed")
    await conn.send_event("Resumed", {"replayed_count": replayed})


def _own_presence_prefix(user_id: str) -> str:
    """The start of this user's own PresenceUpdate frames (e.g. the ``offline`` of the
    connection being resumed): the live connection's presence supersedes them, so they are not
    replayed."""
    return encode_frame("PresenceUpdate", {"user_id": user_id})[:-2]
