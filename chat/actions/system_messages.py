"""System messages (api.md appendix B): plaintext JSON bodies that clients render as events
("alice joined") and use to rotate channel keys. Each is published as NewMessage."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chat.actions.message_store import insert_message
from chat.models import Channel, Message, MessageType
from chat.shapes import message_shape
from realtime.events import Audience, publish, to_channels


def post_system_message(
    channel: Channel, event: str, *, audience: Audience | None = None, **fields: Any
) -> Message:
    """Store ``{"event": ..., **fields}`` (keys sorted, ids as strings) in ``channel`` and publish
    it as NewMessage to the channel's subscribers (plus ``audience`` when given)."""
    body = {
        "event": event,
        **{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()},
    }
    message = insert_message(
        channel=channel,
        sender=None,
        sender_token=b"",
        encrypted_body=json.dumps(body, sort_keys=True, separators=(",", ":")).encode(),
        message_type=MessageType.SYSTEM,
    )
    recipients = to_channels(channel.id)
    if audience is not None:
        recipients = recipients | audience
    publish("NewMessage", message_shape(message), recipients)
    return message
