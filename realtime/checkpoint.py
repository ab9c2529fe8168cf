"""When a connection's resumable state is saved, and what is saved (websocket.md 6;
docs/realtime.md, "Resume").

A clean close saves the exact cursors. A connection that is closed abnormally (or killed) resumes
from its *safe* cursors instead: the cursors as they were at an inbound frame at least
``SAFE_LAG_SECS`` before the latest one, i.e. events the client demonstrably had time to receive
while it was still talking. Resume may then repeat a few events (clients de-duplicate) but never
skips one. The per-process timer saves the safe record whenever it changed (``due``).
"""

from __future__ import annotations

import time
from typing import Any

from realtime.replay import SessionRecord, seq_of

SAFE_LAG_SECS = 2.0


class Checkpoints:
    def __init__(self, user_id: str, cursors: dict[str, str], joined: dict[str, str]) -> None:
        """``cursors``: the connection's live cursors (``Delivery.cursors``); ``joined``: each
        group's cursor when the connection joined it. Both are read, never written."""
        self.user_id = user_id
        self.cursors = cursors
        self.joined = joined
        now = time.monotonic()
        self.last_inbound = now
        self.last_active = time.time()
        self.safe: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.snapshot_at = now
        self.saved: tuple[Any, ...] | None = None

    def start(self) -> None:
        """The connection joined its first groups: their cursors are the first snapshot."""
        self.pending = dict(self.cursors)

    def touch(self) -> None:
        """Any inbound frame: restart the idle timer and move the safe cursors forward."""
        now = time.monotonic()
        self.last_inbound = now
        self.last_active = time.time()
        if now - self.snapshot_at >= SAFE_LAG_SECS:
            self.safe = self.pending
            self.pending = dict(self.cursors)
            self.snapshot_at = now

    def record(self, *, exact: bool) -> SessionRecord:
        if exact:
            cursors = dict(self.cursors)
        else:
            cursors = {g: _since_join(self.safe.get(g), self.joined[g]) for g in self.cursors}
        return SessionRecord(self.user_id, self.last_active, cursors, saved_at=time.time())

    def due(self) -> tuple[SessionRecord, tuple[Any, ...]] | None:
        """The session record to save, if it changed since the last save, and the state to
        pass to ``saved`` once it is. Saved again (a fresh saved_at) whenever the cursors or the
        activity moved: a session only counts as "away" from an access change made after its
        last save."""
        record = self.record(exact=False)
        state = (record.last_active, tuple(sorted(record.cursors.items())))
        return None if state == self.saved else (record, state)


def _since_join(safe: str | None, joined: str) -> str:
    """The safe cursor, unless it is older than the connection's current join of the group: a
    group left (access lost) and joined again within the lag keeps a snapshot from before it
    was left, and a resume from there would replay what the user could not see meanwhile."""
    if safe is None or seq_of(safe) < seq_of(joined):
        return joined
    return safe
