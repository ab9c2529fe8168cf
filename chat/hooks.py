"""Hooks through which chat tells the apps above it (voice) that something changed
(``haven_site.hooks``): typed hook points that those apps connect to in their
``AppConfig.ready()``. Chat never imports them; the handlers run after the transaction commits, so
they see the new state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from haven_site.hooks import Hook


@dataclass(frozen=True)
class AccessChange:
    """Access inside one server may have shrunk: a member left, was kicked, banned or timed out,
    their roles changed, roles or overwrites changed, a channel or the whole server was deleted.
    Or, with ``server_id`` None, access to one DM or group channel: someone left a group.

    ``user_ids``: the users concerned, or None for anyone in the server. ``channel_id``: only this
    channel is concerned (deleted, or the group left). The handler re-checks what it holds against
    ``chat.access``."""

    server_id: uuid.UUID | None
    user_ids: frozenset[uuid.UUID] | None = None
    channel_id: uuid.UUID | None = None


access_changed: Hook[AccessChange] = Hook("chat.access_changed")


def announce_access_change(
    server_id: uuid.UUID | None,
    *,
    user_ids: Iterable[uuid.UUID] | None = None,
    channel_id: uuid.UUID | None = None,
) -> None:
    """Run every ``access_changed`` handler once the surrounding transaction commits (at once
    outside one). A failing handler is logged and does not stop the others."""
    change = AccessChange(server_id, None if user_ids is None else frozenset(user_ids), channel_id)
    access_changed.send_on_commit(change)
