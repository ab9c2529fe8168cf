"""Presence as one user may see it (api.md 2.23)."""

from __future__ import annotations

import uuid

from accounts.actions.blocks import blockers_of
from accounts.models import User
from chat.presence import statuses


def statuses_for(viewer: User, user_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """One entry per requested id, in request order (duplicates kept). Users who blocked the
    viewer read as ``offline``. Two lookups whatever the number of ids."""
    known = statuses(list(dict.fromkeys(user_ids)))
    hidden = blockers_of(viewer.id, known)
    return [(u, "offline" if u in hidden else known[u]) for u in user_ids]
