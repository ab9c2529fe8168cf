"""Inserting messages so that ``timestamp`` is unique within a channel.

The spec pages history with a timestamp cursor (``before``), so two messages of one channel with
the same timestamp could be skipped at a page boundary. A unique constraint on (channel,
timestamp) and a retry one microsecond later make the cursor exact.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import Channel, Message

_MAX_ATTEMPTS = 50


def insert_message(channel: Channel, **fields: Any) -> Message:
    """Create a message stamped now (or a microsecond later on a collision in its channel)."""
    moment = timezone.now()
    for _ in range(_MAX_ATTEMPTS):
        message = Message(channel=channel, timestamp=moment, **fields)
        try:
            with transaction.atomic():
                message.save(force_insert=True)
            return message
        except IntegrityError:
            if not Message.objects.filter(channel=channel, timestamp=moment).exists():
                raise  # another constraint (e.g. a repeated nonce): the caller decides
            moment += timedelta(microseconds=1)
    raise IntegrityError("could not find a free timestamp for the message")
