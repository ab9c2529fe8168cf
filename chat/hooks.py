"""Hooks through which chat tells the apps above it (voice) that something changed (DESIGN.md 2b):
plain lists of callables that those apps fill in their ``AppConfig.ready()``. Chat never imports
them; they run after the transaction commits, so they see the new state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger("haven.chat.hooks")


@dataclass(frozen=True)
class AccessChange:
    """Access inside one server may have shrunk: a member left, was kicked, banned or timed out,
    their roles changed, roles or overwrites changed, a channel or the whole server was deleted.
    Or, with ``server_id`` None, access to one DM or group channel: someone left a group.

    ``user_ids``: the users concerned, or None for anyone in the server. ``channel_id``: only this
    channel is concerned (deleted, or the group left). The hook re-checks what it holds against
    ``chat.access``."""

    server_id: uuid.UUID | None
    user_ids: frozenset[uuid.UUID] | None = None
    channel_id: uuid.UUID | None = None


access_changed: list[Callable[[AccessChange], None]] = []


def announce_access_change(
    server_id: uuid.UUID | None,
    *,
    user_ids: Iterable[uuid.UUID] | None = None,
    channel_id: uuid.UUID | None = None,
) -> None:
    """Run every ``access_changed`` hook once the surrounding transaction commits (at once
    outside one). A failing hook is logged and does not stop the others."""
    change = AccessChange(server_id, None if user_ids is None else frozenset(user_ids), channel_id)

    def run() -> None:
        for hook in list(access_changed):
            try:
                hook(change)
            except Exception:
                logger.exception("access_changed hook %s failed", getattr(hook, "__name__", hook))

    transaction.on_commit(run, robust=True)
