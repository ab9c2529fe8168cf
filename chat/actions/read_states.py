"""Read states (api.md 2.10, websocket.md 3.11): where each user stopped reading each channel,
and the unread counts derived from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, DateTimeField, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from chat.access import NOT_CHANNEL_MEMBER, channel_access, visible_channel_ids
from chat.models import Channel, Message, ReadState
from haven_site.api.encoding import ts
from haven_site.api.errors import Forbidden
from realtime.events import publish, to_users

WS_CANNOT_ACCESS = "Cannot access this channel"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def do_mark_read(user: User, channel_id: uuid.UUID, *, via_websocket: bool = True) -> ReadState:
    """Set ``last_read_at`` to now and send ReadStateUpdated to all the user's connections (the
    MarkRead sender's included: it doubles as the confirmation). The refusal reads
    ``Cannot access this channel`` on the WebSocket, ``Not a member of this channel`` on REST."""
    channel = Channel.objects.select_related("server").filter(id=channel_id).first()
    if channel is None or channel_access(user.id, channel) is None:
        raise Forbidden(WS_CANNOT_ACCESS if via_websocket else NOT_CHANNEL_MEMBER)
    now = timezone.now()
    with transaction.atomic():
        if not ReadState.objects.filter(user=user, channel=channel).update(last_read_at=now):
            try:
                with transaction.atomic():
                    ReadState.objects.create(user=user, channel=channel, last_read_at=now)
            except IntegrityError:  # a concurrent first MarkRead
                ReadState.objects.filter(user=user, channel=channel).update(last_read_at=now)
        publish(
            "ReadStateUpdated",
            {"channel_id": str(channel.id), "last_read_at": ts(now)},
            to_users(user.id),
        )
    return ReadState(user=user, channel=channel, last_read_at=now)


@dataclass(frozen=True)
class ChannelUnread:
    channel_id: uuid.UUID
    last_message_id: uuid.UUID
    last_message_at: datetime
    unread_count: int


def read_states(user: User) -> list[ChannelUnread]:
    """One entry per visible channel holding at least one live message (api.md 2.10): private
    channels the user cannot see are left out. A fixed number of queries: the visible channels,
    then one query that finds each channel's newest message and unread count."""
    visible = visible_channel_ids(user.id)
    if not visible:
        return []
    now = timezone.now()
    live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    newest = Message.objects.filter(live, channel_id=OuterRef("pk")).order_by("-timestamp")
    last_read = ReadState.objects.filter(user=user, channel_id=OuterRef("pk")).values(
        "last_read_at"
    )[:1]
    unread = (
        Message.objects.filter(live, channel_id=OuterRef("pk"), timestamp__gt=OuterRef("read_at"))
        .order_by()
        .values("channel_id")
        .annotate(n=Count("*"))
        .values("n")
    )
    rows = (
        Channel.objects.filter(id__in=visible)
        .annotate(
            last_id=Subquery(newest.values("id")[:1]),
            last_at=Subquery(newest.values("timestamp")[:1]),
            read_at=Coalesce(Subquery(last_read), Value(_NEVER), output_field=DateTimeField()),
            unread=Coalesce(Subquery(unread), Value(0), output_field=IntegerField()),
        )
        .filter(last_id__isnull=False)
        .order_by("id")
        .values_list("id", "last_id", "last_at", "unread")
    )
    return [ChannelUnread(*row) for row in rows]
