"""Shapes of messages and what hangs off them (api.md 1.9, 2.9, 2.9a; websocket.md 4.2): the
message object (MessageResponse and the NewMessage payload), reaction groups, sender keys."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from chat.models import Message, MessageType, Reaction, SenderKeyDistribution
from haven_site.api.encoding import b64, ts


class MessageRow(NamedTuple):
    """The columns of a message that its shape needs, read without building a model instance
    (a history page is fifty of them)."""

    id: uuid.UUID
    channel_id: uuid.UUID
    sender_token: bytes
    encrypted_body: bytes
    timestamp: datetime
    expires_at: datetime | None
    has_attachments: bool
    edited_at: datetime | None
    reply_to_id: uuid.UUID | None
    message_type: str


def message_shape(message: Message | MessageRow) -> dict[str, Any]:
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


def reaction_groups(reactions: Iterable[Reaction]) -> list[dict[str, Any]]:
    """ReactionGroup[]: one per (message, emoji), in the order of each group's first reaction;
    ``user_ids`` in reaction order. Expects reactions ordered by reaction time."""
    groups: dict[tuple[uuid.UUID, str], dict[str, Any]] = {}
    for reaction in reactions:
        key = (reaction.message_id, reaction.emoji)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "message_id": str(reaction.message_id),
                "emoji": reaction.emoji,
                "count": 0,
                "user_ids": [],
            }
        group["count"] += 1
        group["user_ids"].append(str(reaction.user_id))
    return list(groups.values())


def sender_key_shape(distribution: SenderKeyDistribution) -> dict[str, Any]:
    return {
        "id": str(distribution.id),
        "channel_id": str(distribution.channel_id),
        "from_user_id": str(distribution.from_user_id),
        "distribution_id": str(distribution.distribution_id),
        "encrypted_skdm": b64(distribution.encrypted_skdm),
        "created_at": ts(distribution.created_at),
    }
