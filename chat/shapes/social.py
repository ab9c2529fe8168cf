"""Shapes of friendships and the profile card (api.md 1.9 FriendResponse, 2.4)."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.shapes import public_fields, user_summary
from chat.actions.profiles import Profile
from chat.models import Friendship
from chat.shapes.servers import role_shape
from haven_site.api.encoding import b64, ts


def friend_shape(friendship: Friendship, viewer_id: uuid.UUID) -> dict[str, Any]:
    """FriendResponse from the viewer's side: the *other* user, and whether they asked.
    Needs ``requester`` and ``addressee`` loaded (select_related)."""
    incoming = friendship.addressee_id == viewer_id
    other = friendship.requester if incoming else friendship.addressee
    return {
        "id": str(friendship.id),
        **user_summary(other),
        "status": friendship.status,
        "is_incoming": incoming,
        "created_at": ts(friendship.created_at),
    }


def profile_shape(card: Profile) -> dict[str, Any]:
    """The profile card of ``GET /users/{id}/profile`` (api.md 2.4)."""
    user = card.user
    shape: dict[str, Any] = {
        **public_fields(user),
        "is_blocked": card.is_blocked,
        "is_friend": card.is_friend,
        "friend_request_status": card.friend_request_status,
        "friendship_id": str(card.friendship_id) if card.friendship_id else None,
        "mutual_friend_count": len(card.mutual_friends),
        "mutual_friends": [user_summary(friend) for friend in card.mutual_friends],
        "mutual_server_count": card.mutual_server_count,
    }
    if card.roles is not None:
        shape["roles"] = [role_shape(role) for role in card.roles]
    if user.encrypted_profile is not None:
        shape["encrypted_profile"] = b64(user.encrypted_profile)
    return shape
