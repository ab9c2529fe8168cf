"""Reactions (websocket.md 3.4-3.5, api.md 2.9).

Added and removed over the WebSocket, listed over REST. Reacting needs access to the channel and
ADD_REACTIONS there (and no block across a one-to-one DM), and removing needs access;
``ReactionRemoved`` carries the token stored with the reaction (websocket.md 9.10 allows it), so
clients can pair the two events.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import Subquery

from accounts.models import User
from chat.access import MISSING_PERMISSION, access_channel, check_not_timed_out
from chat.actions.message_store import live_messages
from chat.actions.messages import (
    CANNOT_MESSAGE,
    blocked_in_dm,
    direct_member_ids,
    readable_message,
)
from chat.models import ChannelType, Reaction
from chat.permissions import Permission
from haven_site.api.errors import BadRequest, Forbidden
from realtime.events import publish, to_channels

MAX_EMOJI = 64  # characters: a Unicode emoji or a custom emoji id (api.md 2.9)
RECENT_MESSAGES = 50  # GET /channels/{id}/reactions covers the 50 newest messages


def _payload(reaction: Reaction, channel_id: uuid.UUID) -> dict[str, str]:
    return {
        "message_id": str(reaction.message_id),
        "channel_id": str(channel_id),
        "sender_token": reaction.sender_token,
        "emoji": reaction.emoji,
    }


def do_add_reaction(user: User, message_id: uuid.UUID, emoji: str) -> Reaction:
    """Idempotent per (message, user, emoji): a repeat keeps the first token, and ReactionAdded
    goes to the channel's subscribers every time."""
    message, access = readable_message(user.id, message_id)
    if not access.has(Permission.ADD_REACTIONS):
        raise Forbidden(MISSING_PERMISSION)
    channel = message.channel
    if channel.channel_type == ChannelType.DM and blocked_in_dm(
        user.id, channel, direct_member_ids(channel)
    ):
        raise Forbidden(CANNOT_MESSAGE)
    check_not_timed_out(user.id, channel.server_id)
    if not 1 <= len(emoji) <= MAX_EMOJI:
        raise BadRequest(f"Failed to add reaction: emoji must be 1-{MAX_EMOJI} characters")
    with transaction.atomic():
        reaction, _ = Reaction.objects.get_or_create(
            message=message, user=user, emoji=emoji, defaults={"sender_token": str(uuid.uuid4())}
        )
        publish(
            "ReactionAdded", _payload(reaction, message.channel_id), to_channels(message.channel_id)
        )
    return reaction


def do_remove_reaction(user: User, message_id: uuid.UUID, emoji: str) -> Reaction | None:
    """Removes this user's reaction; silently nothing (no event) when there was none."""
    message, _ = readable_message(user.id, message_id)
    with transaction.atomic():
        reaction = (
            Reaction.objects.select_for_update()
            .filter(message=message, user=user, emoji=emoji)
            .first()
        )
        if reaction is None:
            return None
        Reaction.objects.filter(pk=reaction.pk).delete()
        publish(
            "ReactionRemoved",
            _payload(reaction, message.channel_id),
            to_channels(message.channel_id),
        )
    return reaction


def channel_reactions(user: User, channel_id: uuid.UUID) -> list[Reaction]:
    """Reactions on the channel's 50 newest live messages, in reaction order (one query)."""
    access_channel(user.id, channel_id, need=Permission.READ_MESSAGE_HISTORY)
    recent = (live_messages().filter(channel_id=channel_id).order_by("-timestamp").values("id"))[
        :RECENT_MESSAGES
    ]
    return list(
        Reaction.objects.filter(message_id__in=Subquery(recent)).order_by("created_at", "id")
    )


def message_reactions(user: User, message_id: uuid.UUID) -> list[Reaction]:
    message, access = readable_message(user.id, message_id)
    if not access.has(Permission.READ_MESSAGE_HISTORY):
        raise Forbidden(MISSING_PERMISSION)
    return list(Reaction.objects.filter(message=message).order_by("created_at", "id"))
