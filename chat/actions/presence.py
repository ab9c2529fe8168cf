"""Presence as one user may see it (api.md 2.23)."""

from __future__ import annotations

import uuid

from accounts.actions.blocks import blockers_of
from accounts.models import User
from chat.access import users_sharing_something
from chat.presence import statuses


def statuses_for(viewer: User, user_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """One entry per requested id, in request order (duplicates kept). Users who share nothing
    with the viewer (``users_sharing_something``) or blocked them read as ``offline``. A fixed
    number of lookups whatever the number of ids."""
    unique = list(dict.fromkeys(user_ids))
    visible = users_sharing_something(viewer.id, unique)
    known = statuses([u for u in unique if u in visible])
    hidden = blockers_of(viewer.id, known)
    return [(u, "offline" if u in hidden or u not in known else known[u]) for u in user_ids]
