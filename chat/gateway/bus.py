"""Delivery of published events to the gateway's groups on every instance (channel layer)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

if TYPE_CHECKING:
    from chat.events import Audience, Event

logger = logging.getLogger("haven.gateway.bus")


def _message(event: Event) -> dict[str, object]:
    return {"type": "gateway.event", "id": event.id, "frame": event.frame}


async def adeliver(event: Event) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = _message(event)
    for group in event.audience.groups():
        await layer.group_send(group, message)


async def adeliver_control(audience: Audience, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in audience.groups():
        await layer.group_send(group, message)


def deliver_control(audience: Audience, message: dict[str, object]) -> None:
    try:
        async_to_sync(adeliver_control)(audience, message)
    except Exception:
        logger.exception("Could not deliver control %s", message.get("action"))


def deliver(event: Event) -> None:
    try:
        async_to_sync(adeliver)(event)
    except Exception:
        # A lost doorbell must not fail the request that already committed its change.
        logger.exception("Could not deliver %s", event.type)
