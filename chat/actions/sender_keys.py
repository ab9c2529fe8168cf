"""Sender keys for group end-to-end encryption (api.md 2.9a).

A sealed distribution is stored once per (channel, sender, recipient, distribution id), replaced
in place by a newer one, and handed only to its addressee. Every recipient must be able to read
the channel (400 otherwise, unknown users included): no sealed key goes to anyone else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chat.access import access_channel, channel_reader_ids
from chat.models import SenderKeyDistribution
from haven_site.api.encoding import decode_b64
from haven_site.api.errors import BadRequest
from realtime.events import publish, to_users


def do_distribute(
    user: User, channel_id: uuid.UUID, distributions: Sequence[dict[str, Any]]
) -> int:
    """Store (upsert) sealed sender keys; SenderKeysUpdated once to each recipient's connections.
    Returns the number of entries received (the response's ``distributed``)."""
    channel = access_channel(user.id, channel_id).channel
    if not distributions:
        raise BadRequest("No distributions provided")
    blobs = [
        decode_b64(d["encrypted_skdm"], "Invalid encrypted_skdm encoding") for d in distributions
    ]
    readers = channel_reader_ids(channel)
    for entry in distributions:
        if entry["to_user_id"] not in readers:
            raise BadRequest(f"User {entry['to_user_id']} cannot access this channel")
    now = timezone.now()
    rows: dict[tuple[uuid.UUID, uuid.UUID], SenderKeyDistribution] = {}
    for entry, blob in zip(distributions, blobs, strict=True):
        key = (entry["to_user_id"], entry["distribution_id"])
        rows[key] = SenderKeyDistribution(  # a repeated key within one request: the last wins
            channel=channel,
            from_user=user,
            to_user_id=entry["to_user_id"],
            distribution_id=entry["distribution_id"],
            encrypted_skdm=blob,
            created_at=now,
        )
    with transaction.atomic():
        SenderKeyDistribution.objects.bulk_create(
            rows.values(),
            update_conflicts=True,
            unique_fields=["channel", "from_user", "to_user", "distribution_id"],
            update_fields=["encrypted_skdm", "created_at"],
        )
        publish(
            "SenderKeysUpdated",
            {"channel_id": str(channel.id)},
            to_users(to for to, _ in rows),
        )
    return len(distributions)


def inbox(user: User, channel_id: uuid.UUID) -> list[SenderKeyDistribution]:
    """The distributions addressed to the caller in this channel, oldest first (not consumed)."""
    access_channel(user.id, channel_id)
    return list(
        SenderKeyDistribution.objects.filter(channel_id=channel_id, to_user=user).order_by(
            "created_at", "id"
        )
    )


def member_identity_keys(user: User, channel_id: uuid.UUID) -> list[tuple[uuid.UUID, bytes]]:
    """Identity keys of everyone else who can read the channel (a fixed number of queries)."""
    channel = access_channel(user.id, channel_id).channel
    readers = channel_reader_ids(channel) - {user.id}
    return [
        (user_id, bytes(key))
        for user_id, key in User.objects.filter(id__in=readers)
        .order_by("id")
        .values_list("id", "identity_key")
    ]


def drop_sealed_keys_for(user_id: uuid.UUID, channel_id: uuid.UUID | None = None) -> None:
    """Forget sender keys addressed to a user: all of them when their identity key changed (they
    were sealed to the old key), or one channel's when they left it."""
    addressed = SenderKeyDistribution.objects.filter(to_user_id=user_id)
    if channel_id is not None:
        addressed = addressed.filter(channel_id=channel_id)
    addressed.delete()
