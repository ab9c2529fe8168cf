"""Friends: requests, accept, decline, remove (api.md 2.12) and their events (websocket.md 4.0).

One row per pair, whichever direction (a unique index on the unordered pair): two users asking
each other at the same moment end up with one accepted friendship, never two rows and never a
500. The row is locked while it changes state so that accept, decline and remove cannot cross.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from accounts.actions.blocks import blocked_either_way
from accounts.models import User
from chat.models import Friendship, FriendshipStatus
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from realtime.events import publish, to_users


def pair(a: uuid.UUID, b: uuid.UUID) -> Q:
    return Q(requester_id=a, addressee_id=b) | Q(requester_id=b, addressee_id=a)


def are_friends(a: uuid.UUID, b: uuid.UUID) -> bool:
    return Friendship.objects.filter(pair(a, b), status=FriendshipStatus.ACCEPTED).exists()


def friend_ids(user_id: uuid.UUID) -> set[uuid.UUID]:
    """Accepted friends of a user (one query)."""
    rows = Friendship.objects.filter(
        Q(requester_id=user_id) | Q(addressee_id=user_id), status=FriendshipStatus.ACCEPTED
    ).values_list("requester_id", "addressee_id")
    return {b if a == user_id else a for a, b in rows}


def friendships(user: User, limit: int, offset: int) -> QuerySet[Friendship]:
    """Every row involving the user, pending both ways and accepted, newest first."""
    return (
        Friendship.objects.filter(Q(requester=user) | Q(addressee=user))
        .select_related("requester", "addressee")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )


@dataclass(frozen=True)
class RequestResult:
    friendship: Friendship
    auto_accepted: bool


def do_send_request(user: User, username: str) -> RequestResult:
    target = User.objects.filter(username__iexact=username).first()
    if target is None:
        raise NotFound("User not found")
    if target.id == user.id:
        raise BadRequest("Cannot send a friend request to yourself")
    if blocked_either_way(user.id, target.id):
        raise Forbidden("Cannot send friend request to this user")
    with transaction.atomic():
        for _ in range(2):
            existing = (
                Friendship.objects.select_for_update()
                .select_related("requester", "addressee")
                .filter(pair(user.id, target.id))
                .first()
            )
            if existing is not None:
                return _answer_existing(user, existing)
            try:
                with transaction.atomic():
                    created = Friendship.objects.create(requester=user, addressee=target)
            except IntegrityError:
                continue  # the other user's request (or ours, twice) landed first: answer it
            publish(
                "FriendRequestReceived",
                {
                    "from_user_id": str(user.id),
                    "from_username": user.username,
                    "friendship_id": str(created.id),
                },
                to_users(target.id, user.id),  # the requester's other devices too
            )
            return RequestResult(created, auto_accepted=False)
    raise BadRequest("Friend request already pending")  # pragma: no cover - needs 3 racers


def _answer_existing(user: User, existing: Friendship) -> RequestResult:
    if existing.status == FriendshipStatus.ACCEPTED:
        raise BadRequest("Already friends")
    if existing.requester_id == user.id:
        raise BadRequest("Friend request already pending")
    existing.status = FriendshipStatus.ACCEPTED
    existing.save(update_fields=["status", "updated_at"])
    _announce_accepted(user, existing, existing.requester_id)
    return RequestResult(existing, auto_accepted=True)


def _announce_accepted(accepter: User, friendship: Friendship, to: uuid.UUID) -> None:
    """To the requester, and to the accepter's other devices."""
    publish(
        "FriendRequestAccepted",
        {
            "user_id": str(accepter.id),
            "username": accepter.username,
            "friendship_id": str(friendship.id),
        },
        to_users(to, accepter.id),
    )


def _locked(friendship_id: uuid.UUID, missing: str) -> Friendship:
    row = (
        Friendship.objects.select_for_update()
        .select_related("requester", "addressee")
        .filter(id=friendship_id)
        .first()
    )
    if row is None:
        raise NotFound(missing)
    return row


def do_accept(user: User, friendship_id: uuid.UUID) -> Friendship:
    with transaction.atomic():
        row = _locked(friendship_id, "Friend request not found")
        if row.addressee_id != user.id:
            raise Forbidden("Cannot accept this request")
        if row.status != FriendshipStatus.PENDING:
            raise BadRequest("Request is not pending")
        row.status = FriendshipStatus.ACCEPTED
        row.save(update_fields=["status", "updated_at"])
        _announce_accepted(user, row, row.requester_id)
    return row


def do_decline(user: User, friendship_id: uuid.UUID) -> None:
    """Deletes the request; no event."""
    with transaction.atomic():
        row = _locked(friendship_id, "Friend request not found")
        if row.addressee_id != user.id:
            raise Forbidden("Cannot decline this request")
        if row.status != FriendshipStatus.PENDING:
            raise BadRequest("Request is not pending")
        row.delete()


def do_remove(user: User, friendship_id: uuid.UUID) -> None:
    """Removes a friend or cancels a request (either party); FriendRemoved to both."""
    with transaction.atomic():
        row = _locked(friendship_id, "Friendship not found")
        if user.id not in (row.requester_id, row.addressee_id):
            raise Forbidden("Not part of this friendship")
        other = row.addressee_id if row.requester_id == user.id else row.requester_id
        row.delete()
        _announce_removed(user.id, other)


def do_end_friendship_on_block(user: User, target_id: uuid.UUID) -> None:
    """A block ends any friendship or request between the two; the blocked user is told as if
    the blocker had removed them (FriendRemoved), which is all a removal would reveal."""
    deleted, _ = Friendship.objects.filter(pair(user.id, target_id)).delete()
    if deleted:
        _announce_removed(user.id, target_id)


def _announce_removed(remover: uuid.UUID, other: uuid.UUID) -> None:
    """``FriendRemoved`` to each side, naming the other side: the removed user learns who
    removed them (the spec's payload), the remover's other devices which friend is gone."""
    publish("FriendRemoved", {"user_id": str(remover)}, to_users(other))
    publish("FriendRemoved", {"user_id": str(other)}, to_users(remover))
