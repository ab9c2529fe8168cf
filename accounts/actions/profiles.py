"""Users and profiles: search, the profile card, profile updates, profile keys (api.md 2.4).

Profile updates change only the fields a request names: the original cleared ``about_me``,
``custom_status`` and ``custom_status_emoji`` whenever a request left them out (appendix C #10),
which lost data whenever a client updated one field. ``null`` still clears them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import BlockedUser, ProfileKeyDistribution, User
from accounts.validation import check_display_name
from haven_site.api.encoding import decode_b64
from haven_site.api.errors import NotFound

MUTUAL_FRIENDS_SHOWN = 10
CLEARABLE = ("about_me", "custom_status", "custom_status_emoji")


def find_user(username: str) -> User:
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise NotFound("User not found")
    return user


@dataclass
class Profile:
    user: User
    is_blocked: bool = False
    is_friend: bool = False
    friend_request_status: str | None = None
    friendship_id: uuid.UUID | None = None
    mutual_friends: list[User] = field(default_factory=list)
    mutual_server_count: int = 0
    roles: list[Any] | None = None  # chat.models.Role, when a server was named


def profile(viewer: User, target_id: uuid.UUID, server_id: uuid.UUID | None) -> Profile:
    """The profile card of ``target_id`` as ``viewer`` sees it, in a fixed number of queries.

    Only for users who share something with the viewer (``chat.access.users_sharing_something``):
    anyone else answers ``404 User not found``, as a missing user (the original showed anyone's).
    ``roles`` (when ``server_id`` is given) lists the target's assigned roles there only when
    the viewer is a member of that server; the original showed them to anyone (``[]`` here)."""
    from chat.access import users_sharing_something
    from chat.models import Friendship, FriendshipStatus, Role, ServerMember

    target = User.objects.filter(id=target_id).first()
    if target is None or not users_sharing_something(viewer.id, [target.id]):
        raise NotFound("User not found")  # a stranger's card is as absent as a missing user
    card = Profile(user=target)
    if server_id is not None:
        card.roles = []
        if ServerMember.objects.filter(server_id=server_id, user=viewer).exists():
            card.roles = list(
                Role.objects.filter(server_id=server_id, assignments__user_id=target.id).order_by(
                    "position", "created_at"
                )
            )
    if target.id == viewer.id:
        return card
    card.is_blocked = BlockedUser.objects.filter(blocker=viewer, blocked=target).exists()
    rows = Friendship.objects.filter(
        Q(requester_id__in=[viewer.id, target.id]) | Q(addressee_id__in=[viewer.id, target.id])
    ).values_list("id", "requester_id", "addressee_id", "status")
    friends: dict[uuid.UUID, set[uuid.UUID]] = {viewer.id: set(), target.id: set()}
    for friendship_id, requester, addressee, status in rows:
        if {requester, addressee} == {viewer.id, target.id}:
            card.friendship_id = friendship_id
            if status == FriendshipStatus.ACCEPTED:
                card.is_friend = True
            else:
                card.friend_request_status = (
                    "pending_outgoing" if requester == viewer.id else "pending_incoming"
                )
        elif status == FriendshipStatus.ACCEPTED:
            for user_id, other in ((requester, addressee), (addressee, requester)):
                if user_id in friends:
                    friends[user_id].add(other)
    mutual = friends[viewer.id] & friends[target.id]
    if mutual:
        card.mutual_friends = list(
            User.objects.filter(id__in=mutual).order_by("username")[:MUTUAL_FRIENDS_SHOWN]
        )
    theirs = ServerMember.objects.filter(user=target).values("server_id")
    card.mutual_server_count = ServerMember.objects.filter(
        user=viewer, server_id__in=theirs
    ).count()
    return card


def do_update_profile(user: User, changes: dict[str, Any]) -> User:
    """``changes`` holds only the fields the request contained (absent = unchanged).
    ``display_name``: null keeps it (the original's rule); ``about_me``, ``custom_status``,
    ``custom_status_emoji``: null clears; ``encrypted_profile``: null keeps it."""
    updates: dict[str, Any] = {}
    if changes.get("display_name") is not None:
        check_display_name(changes["display_name"])
        updates["display_name"] = changes["display_name"]
    for name in CLEARABLE:
        if name in changes:
            updates[name] = changes[name]
    if changes.get("encrypted_profile") is not None:
        updates["encrypted_profile"] = decode_b64(
            changes["encrypted_profile"], "Invalid encrypted_profile encoding"
        )
    if updates:
        for name, value in updates.items():
            setattr(user, name, value)
        user.save(update_fields=[*updates, "updated_at"])
    return user


def do_distribute_profile_keys(user: User, distributions: list[dict[str, Any]]) -> int:
    """Upsert the caller's profile key sealed for each recipient (all or nothing). Unknown
    recipients answer 404 (the original answered 500)."""
    decoded = [
        (
            entry["to_user_id"],
            decode_b64(entry["encrypted_profile_key"], "Invalid encrypted_profile_key encoding"),
        )
        for entry in distributions
    ]
    recipients = {to for to, _ in decoded}
    if len(recipients) != User.objects.filter(id__in=recipients).count():
        raise NotFound("User not found")
    latest = dict(decoded)  # a recipient named twice: the last entry wins
    with transaction.atomic():
        now = timezone.now()
        ProfileKeyDistribution.objects.bulk_create(
            [
                ProfileKeyDistribution(
                    from_user=user, to_user_id=to, encrypted_profile_key=key, created_at=now
                )
                for to, key in latest.items()
            ],
            update_conflicts=True,
            unique_fields=["from_user", "to_user"],
            update_fields=["encrypted_profile_key", "created_at"],
        )
    return len(distributions)


def profile_key(viewer: User, from_user_id: uuid.UUID) -> bytes:
    key = (
        ProfileKeyDistribution.objects.filter(from_user_id=from_user_id, to_user=viewer)
        .values_list("encrypted_profile_key", flat=True)
        .first()
    )
    if key is None:
        raise NotFound("Profile key not found")
    return bytes(key)
