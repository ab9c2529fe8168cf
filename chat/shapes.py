"""JSON shapes shared across chat routes and events (api.md 1.9, websocket.md 4.2)."""

from __future__ import annotations

from typing import Any

from chat.models import Message, MessageType
from haven_site.api.encoding import b64, ts


def message_shape(message: Message) -> dict[str, Any]:
    """MessageResponse / the NewMessage payload. The sender is never included (sealed sender);
    ``reply_to_id`` and ``message_type`` are left out for ordinary messages."""
    shape: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "sender_token": b64(message.sender_token),
        "encrypted_body": b64(message.encrypted_body),
        "timestamp": ts(message.timestamp),
        "expires_at": ts(message.expires_at),
        "has_attachments": message.has_attachments,
        "edited": message.edited_at is not None,
    }
    if message.reply_to_id is not None:
        shape["reply_to_id"] = str(message.reply_to_id)
    if message.message_type == MessageType.SYSTEM:
        shape["message_type"] = "system"
    return shape
