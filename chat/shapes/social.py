"""Shapes of friendships (api.md 1.9 FriendResponse)."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.shapes import user_summary
from chat.models import Friendship
from haven_site.api.encoding import ts


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
