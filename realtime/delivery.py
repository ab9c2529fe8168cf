"""What one connection has delivered, and what to do with the next event (docs/realtime.md,
"Delivery").

Events reach a connection three ways: live doorbells from the hub, entries read back from the
replay store (a hole repaired, a resumed group continued), and a resume's replay. Each group the
connection receives has a *cursor*, the store id of the last event of that group it delivered or
passed over; and the connection remembers the ids of the last ``SEEN_IDS`` events it wrote, so
an event addressed to several of its groups (a channel and its server, say) is written once.

``Delivery`` holds both and makes every decision, so that the live path and the read-back paths
cannot disagree:

* ``judge(doorbell)``: ``SKIP`` (a group left, an event already delivered or read back, hidden
  from this user, written before), ``DELIVER`` (write it; the cursor has moved on) or ``REPAIR``
  (doorbells of the group were lost: read the hole back from the store, through ``take``, then
  ``after_repair``);
* ``take(group, entry)``: an entry read back from the store moves the group's cursor; whether to
  write it;
* ``first_copy(event_id, hidden)``: whether to write an event at all (not hidden from this user,
  not written before), remembering it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Collection
from typing import Any

from realtime.replay import Entry, seq_of

SEEN_IDS = 512  # event ids remembered per connection to drop a second copy


class Verdict(enum.Enum):
    SKIP = "skip"
    DELIVER = "deliver"
    REPAIR = "repair"


class Delivery:
    __slots__ = ("_seen", "_seen_ids", "cursors", "user_id")

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.cursors: dict[str, str] = {}  # group -> id of the last event delivered from it
        # Made on first use: an idle socket never needs them.
        self._seen: deque[str] | None = None
        self._seen_ids: set[str] | None = None

    def judge(self, doorbell: dict[str, Any]) -> Verdict:
        """A doorbell from the hub (``gateway.event``). Doorbells are shared by every local
        connection of the group: only the cached sequence number (``_seq``) is written."""
        sid = doorbell.get("sid")
        if sid is None:  # not replayable: no order to keep
            return self._verdict(doorbell["id"], doorbell.get("x"))
        group = doorbell["g"]
        cursor = self.cursors.get(group)
        if cursor is None:
            return Verdict.SKIP  # left the group while this was in flight
        prev = doorbell["prev"]
        if prev != cursor:  # not simply the next event of the group (ids grow: sid > prev)
            seq = doorbell.get("_seq")
            if seq is None:
                seq = doorbell["_seq"] = seq_of(sid)
            at = seq_of(cursor)
            if seq <= at:
                return Verdict.SKIP  # already delivered (read back from the store)
            if seq_of(prev) > at:
                return Verdict.REPAIR
        self.cursors[group] = sid
        return self._verdict(doorbell["id"], doorbell.get("x"))

    def after_repair(self, doorbell: dict[str, Any]) -> Verdict:
        """The doorbell whose hole was just read back (``take``): it follows now."""
        self.cursors[doorbell["g"]] = doorbell["sid"]
        return self._verdict(doorbell["id"], doorbell.get("x"))

    def take(self, group: str, entry: Entry) -> bool:
        """An entry of ``group`` read back from the store, in order: whether to write it."""
        self.cursors[group] = entry.sid
        return self.first_copy(entry.event_id, entry.hidden)

    def first_copy(self, event_id: str, hidden: Collection[str] | None = None) -> bool:
        """Whether to write this event: not hidden from this user and not written before (it
        counts as written from now on)."""
        if hidden is not None and self.user_id in hidden:
            return False
        if self._seen_ids is None or self._seen is None:
            self._seen, self._seen_ids = deque(), set()
        elif event_id in self._seen_ids:
            return False
        self._seen.append(event_id)
        self._seen_ids.add(event_id)
        if len(self._seen) > SEEN_IDS:
            self._seen_ids.discard(self._seen.popleft())
        return True

    def _verdict(self, event_id: str, hidden: Collection[str] | None) -> Verdict:
        return Verdict.DELIVER if self.first_copy(event_id, hidden) else Verdict.SKIP
