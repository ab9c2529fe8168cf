"""The profile card (api.md 2.4 ``GET /users/{id}/profile``): a user as the viewer sees them,
with what the two share (friends, servers, the target's roles in a server)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.db.models import Q

from accounts.models import BlockedUser, User
from chat.access import users_sharing_something
from chat.models import Friendship, FriendshipStatus, Role, ServerMember
from haven_site.api.errors import NotFound

MUTUAL_FRIENDS_SHOWN = 10


@dataclass
class Profile:
    user: User
    is_blocked: bool = False
    is_friend: bool = False
    friend_request_status: str | None = None
    friendship_id: uuid.UUID | None = None
    mutual_friends: list[User] = field(default_factory=list)
    mutual_server_count: int = 0
    roles: list[Role] | None = None  # when a server was named


def profile(viewer: User, target_id: uuid.UUID, server_id: uuid.UUID | None) -> Profile:
    """The profile card of ``target_id`` as ``viewer`` sees it, in a fixed number of queries.

    Only for users who share something with the viewer (``chat.access.users_sharing_something``):
    anyone else answers ``404 User not found``, as a missing user. ``roles`` (when ``server_id``
    is given) lists the target's assigned roles there when the viewer is a member of that
    server, else ``[]`` (docs/api-messages.md, "Profiles and users")."""
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
