"""Pins (websocket.md 3.9-3.10, api.md 2.9): at most 50 per channel, each announced with a
MessagePinned/MessageUnpinned event and a system message.

Who may pin: in a server channel, the message's author or a holder of MANAGE_MESSAGES, unless
timed out in that server; in a DM or group, any participant.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.access import MISSING_PERMISSION, ChannelAccess, access_channel, check_not_timed_out
from chat.actions.message_store import live_messages
from chat.actions.system_messages import post_system_message
from chat.models import Channel, Message, PinnedMessage
from chat.permissions import Permission
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from realtime.events import publish, to_channels

MAX_PINS = 50
FULL = f"Validation error: Channel has reached the maximum of {MAX_PINS} pinned messages"
ALREADY_PINNED = "Validation error: Message is already pinned"
NOT_PINNED = "Message is not pinned"


def _check_may_pin(user_id: uuid.UUID, access: ChannelAccess, message: Message) -> None:
    """The author or MANAGE_MESSAGES, and no running timeout: a pin or an unpin posts a system
    message in the channel, so a timed-out member may do neither."""
    own_or_direct = access.channel.server_id is None or message.sender_id == user_id
    if not own_or_direct and not access.has(Permission.MANAGE_MESSAGES):
        raise Forbidden(MISSING_PERMISSION)
    check_not_timed_out(user_id, access.channel.server_id)


def _lock(channel: Channel) -> None:
    """Serialise pin changes per channel so that the 50-pin limit holds under concurrency."""
    Channel.objects.select_for_update().filter(id=channel.id).values_list("id").first()


def do_pin_message(user: User, channel_id: uuid.UUID, message_id: uuid.UUID) -> PinnedMessage:
    access = access_channel(user.id, channel_id)  # "Not a member of this channel"
    channel = access.channel
    message = live_messages().filter(id=message_id, channel=channel).first()
    if message is None:
        raise NotFound("Message not found in this channel")
    _check_may_pin(user.id, access, message)
    with transaction.atomic():
        _lock(channel)
        if PinnedMessage.objects.filter(channel=channel).count() >= MAX_PINS:
            raise BadRequest(FULL)
        try:
            with transaction.atomic():
                pin = PinnedMessage.objects.create(channel=channel, message=message, pinned_by=user)
        except IntegrityError:
            raise BadRequest(ALREADY_PINNED) from None
        publish(
            "MessagePinned",
            {
                "channel_id": str(channel.id),
                "message_id": str(message.id),
                "pinned_by": str(user.id),
            },
            to_channels(channel.id),
        )
        post_system_message(
            channel,
            "message_pinned",
            username=user.shown_name,
            user_id=user.id,
            message_id=message.id,
        )
    return pin


def do_unpin_message(user: User, channel_id: uuid.UUID, message_id: uuid.UUID) -> None:
    access = access_channel(user.id, channel_id)
    channel = access.channel
    pin = (
        PinnedMessage.objects.select_related("message")
        .filter(channel=channel, message_id=message_id)
        .first()
    )
    if pin is None:
        raise BadRequest(NOT_PINNED)
    _check_may_pin(user.id, access, pin.message)
    with transaction.atomic():
        _lock(channel)
        if not PinnedMessage.objects.filter(pk=pin.pk).delete()[0]:
            raise BadRequest(NOT_PINNED)
        publish(
            "MessageUnpinned",
            {"channel_id": str(channel.id), "message_id": str(message_id)},
            to_channels(channel.id),
        )
        post_system_message(
            channel,
            "message_unpinned",
            username=user.shown_name,
            user_id=user.id,
            message_id=message_id,
        )


def pinned_messages(user: User, channel_id: uuid.UUID) -> list[Message]:
    """Most recently pinned first; expired messages are left out (one query)."""
    access_channel(user.id, channel_id, need=Permission.READ_MESSAGE_HISTORY)
    pins = (
        PinnedMessage.objects.filter(channel_id=channel_id, message__in=live_messages())
        .select_related("message")
        .order_by("-pinned_at", "-id")
    )
    return [pin.message for pin in pins]


def pinned_ids(user: User, channel_id: uuid.UUID) -> list[uuid.UUID]:
    access_channel(user.id, channel_id, need=Permission.READ_MESSAGE_HISTORY)
    return list(
        PinnedMessage.objects.filter(channel_id=channel_id, message__in=live_messages())
        .order_by("-pinned_at", "-id")
        .values_list("message_id", flat=True)
    )
