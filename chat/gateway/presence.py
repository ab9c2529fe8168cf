"""The gateway's side of presence: "online" when a user's connections speak up, "offline" when
the last one anywhere has closed (``chat.presence`` computes who may see it)."""

from __future__ import annotations

import logging
import uuid

from chat.presence import audience_of, presence_frame_payload
from haven_site.threads import in_thread
from realtime import protocol
from realtime.events import Event, adispatch
from realtime.registry import get_registry

logger = logging.getLogger("haven.gateway")


async def broadcast_presence(user_id: uuid.UUID, stored: str) -> None:
    audience = await in_thread(audience_of)(user_id)
    payload = presence_frame_payload(user_id, stored)
    await adispatch(Event("PresenceUpdate", payload, audience))


async def user_went_offline(user_id: uuid.UUID, *, announce: bool = True) -> None:
    """The user's last connection anywhere has closed: offline, then the cleanup hooks."""
    await get_registry().adelete_status(str(user_id))
    if announce:
        audience = await in_thread(audience_of)(user_id)
        await adispatch(Event("PresenceUpdate", presence_frame_payload(user_id, None), audience))
    for hook in protocol.last_disconnect_hooks():
        try:
            await hook(user_id)
        except Exception:
            logger.exception("Last-disconnect hook %r failed", hook)
