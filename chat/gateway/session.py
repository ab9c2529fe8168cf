"""The client messages about the connection itself (websocket.md 3.6-3.8, 3.13, 5): Ping,
Subscribe, Unsubscribe, Typing and SetStatus (Resume: ``chat.gateway.resume``).

Each one but Unsubscribe runs through ``GatewayConsumer.act``, which checks that the connection's
login session still lives: a socket whose session was revoked cannot ping, subscribe, type or
set a status (it is closed with 1008 instead of answered).

Registered when the chat app is ready (``chat.apps.ChatConfig.ready``), like the message
operations of ``chat.gateway.messages``; the connection's state lives in
``chat.gateway.consumer.GatewayConsumer``.
"""

from __future__ import annotations

import uuid
from typing import Any

from chat.access import subscribable_channel
from chat.actions.typing import check_typing
from chat.gateway.consumer import GatewayConsumer
from haven_site.api.errors import RateLimited
from realtime import protocol
from realtime.events import Event, adispatch
from realtime.registry import get_registry
from realtime.replay import channel_scopes

K = protocol.Kind


@protocol.client_message("Ping", unit=True)
async def ping(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.current_user()
    await conn.send_event("Pong")


def _subscribable(user: Any, channel_id: uuid.UUID) -> uuid.UUID | None:
    return subscribable_channel(user.id, channel_id)


@protocol.client_message("Subscribe", channel_id=K.UUID)
async def subscribe(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """After a Resume, the re-Subscribe of a channel the resumed session had continues from
    where the replay ended: what was published in between follows ``Subscribed``."""
    channel_id = payload["channel_id"]
    server_id = await conn.act(_subscribable, channel_id)
    continued = await conn.subscribe(channel_id, server_id)
    await conn.send_event("Subscribed", {"channel_id": str(channel_id)})
    if continued:
        await conn.catch_up(continued, channel_scopes(conn.uid, channel_id, server_id))


@protocol.client_message("Unsubscribe", channel_id=K.UUID)
async def unsubscribe(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.unsubscribe(payload["channel_id"])


@protocol.client_message("Typing", channel_id=K.UUID)
async def typing(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """Dropped silently (websocket.md 3.7) over the typing rate limit, without access, while
    timed out, and for people blocked either way (``chat.actions.typing``)."""
    channel_id = payload["channel_id"]
    try:
        target = await conn.act_limited("typing", check_typing, channel_id)
    except RateLimited:
        return
    if target is None:
        return
    body = {"channel_id": str(channel_id), "user_id": conn.uid, "username": target.username}
    await adispatch(Event("UserTyping", body, target.audience))


@protocol.client_message("SetStatus", status=K.STR)
async def set_status(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    from chat.presence import STATUSES

    status = payload["status"]
    await conn.current_user()
    if status not in STATUSES:
        await conn.send_error(f"Invalid status: {status}. Valid: online, idle, dnd, invisible")
        return
    await get_registry().aset_status(conn.uid, status)
    await conn.broadcast_presence(status)
