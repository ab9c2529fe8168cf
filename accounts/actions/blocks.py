"""User-to-user blocks (api.md 2.4).

A block really blocks (docs/api-messages.md, "DM requests, privacy and blocks"): it ends any
friendship or pending request between the two, drops the profile key the blocker had shared, and
from then on neither can open or write a one-to-one DM with the other, nor send the other a
friend request; the blocked user sees the blocker as ``offline``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from accounts import hooks
from accounts.models import BlockedUser, ProfileKeyDistribution, User
from haven_site.api.errors import BadRequest, NotFound


def blocked_either_way(a: uuid.UUID, b: uuid.UUID) -> bool:
    return BlockedUser.objects.filter(
        Q(blocker_id=a, blocked_id=b) | Q(blocker_id=b, blocked_id=a)
    ).exists()


def blocked_either_way_ids(user_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone the user blocked or who blocked the user (one query): their presence and
    typing stop reaching each other."""
    pairs = BlockedUser.objects.filter(Q(blocker_id=user_id) | Q(blocked_id=user_id)).values_list(
        "blocker_id", "blocked_id"
    )
    return {a if b == user_id else b for a, b in pairs}


def blockers_of(user_id: uuid.UUID, among: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``among`` have blocked ``user_id`` (one query)."""
    return set(
        BlockedUser.objects.filter(blocked_id=user_id, blocker_id__in=list(among)).values_list(
            "blocker_id", flat=True
        )
    )


def do_block(user: User, target_id: uuid.UUID) -> None:
    """Idempotent. The ``user_blocked`` hook ends the friendship (chat: FriendRemoved to the
    blocked user, as if removed)."""
    if target_id == user.id:
        raise BadRequest("Cannot block yourself")
    if not User.objects.filter(id=target_id).exists():
        raise NotFound("User not found")
    with transaction.atomic():
        try:
            with transaction.atomic():
                BlockedUser.objects.get_or_create(blocker=user, blocked_id=target_id)
        except IntegrityError:
            pass  # a concurrent identical block won
        ProfileKeyDistribution.objects.filter(from_user=user, to_user_id=target_id).delete()
        hooks.user_blocked.send(hooks.UserBlocked(user, target_id))


def do_unblock(user: User, target_id: uuid.UUID) -> None:
    """Idempotent: no error when not blocked or the user is unknown."""
    BlockedUser.objects.filter(blocker=user, blocked_id=target_id).delete()


def blocked_users(user: User, limit: int, offset: int) -> QuerySet[BlockedUser]:
    return (
        BlockedUser.objects.filter(blocker=user)
        .select_related("blocked")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )
