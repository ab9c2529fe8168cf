"""The replay store's vocabulary: entries, session records, access-stamp scopes, and the
interface both stores implement (``realtime.store`` picks one; docs/realtime.md).

Every replayable event is appended once per target group to that group's log, *before* the
channel layer rings the doorbell. Each append gets one id, ``<ms>-<seq>``, where ``seq`` is a
global counter: ids are totally ordered across all groups in publish order, so logs of several
groups merge by id, and an event appended to several groups has the same id in each. Every entry
also records ``prev``, the id that was last in its group before it, so a receiver (live, or a
resume) can tell a continuous read from one with a hole in it; and the event's type, so a reader
can tell events apart without decoding their frames.

Bounds: each group log keeps at most ``ws_replay_max_events`` entries (approximately, never fewer)
and nothing older than ``ws_session_ttl_secs`` + 60 s; an idle log expires after that time.
Sessions hold the user, ``last_active`` and a cursor per group, and expire
``ws_session_ttl_secs`` after their last activity.

Access stamps: when access changes (a ``recheck`` control: kick, ban, leave, role or overwrite
change, a group DM left), the time of the change is stamped per server, per server and user, or
per channel and user. A session saved before a stamp of one of its groups was away while its
access changed: ``Resume`` must not replay that group as if nothing happened.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

ZERO = "0-0"
RETENTION_MARGIN_SECS = 60


def seq_of(sid: str) -> int:
    """The global sequence number of an id (``0`` for ``0-0``)."""
    return int(sid.rpartition("-")[2])


@dataclass(frozen=True)
class Entry:
    sid: str
    event_id: str
    prev: str
    frame: str
    hidden: frozenset[str] = frozenset()  # user ids the event must not reach (blocks)
    type: str = ""  # the event's type ("" in entries stored before types were)


@dataclass
class SessionRecord:
    """A connection's resumable state: its user, its last inbound activity, a cursor per group,
    and when it was saved (``saved_at``, compared with access stamps)."""

    user_id: str
    last_active: float
    cursors: dict[str, str] = field(default_factory=dict)
    saved_at: float = 0.0

    def encode(self) -> str:
        return json.dumps(
            {"u": self.user_id, "a": self.last_active, "c": self.cursors, "s": self.saved_at}
        )

    @classmethod
    def decode(cls, text: str) -> SessionRecord | None:
        try:
            data = json.loads(text)
            saved_at = float(data.get("s", data["a"]))
            return cls(str(data["u"]), float(data["a"]), dict(data["c"]), saved_at)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def hidden_field(hidden: frozenset[str] | set[str] | list[str]) -> str:
    """Users an event is hidden from, as stored beside its frame (comma-separated ids)."""
    return ",".join(sorted(hidden))


def parse_hidden(text: str | None) -> frozenset[str]:
    return frozenset(text.split(",")) if text else frozenset()


def retention_secs() -> int:
    return int(settings.HAVEN.ws_session_ttl_secs) + RETENTION_MARGIN_SECS


def session_ttl(record: SessionRecord) -> int:
    """Seconds a saved session has left: ``ws_session_ttl_secs`` after its last activity."""
    remaining = settings.HAVEN.ws_session_ttl_secs - (time.time() - record.last_active)
    return max(1, int(remaining))


def max_events() -> int:
    return int(settings.HAVEN.ws_replay_max_events)


def continuous(entries: list[Entry], after: str, last: str) -> bool:
    """Whether ``entries`` (read after ``after``) are all that was appended after it.

    The first entry must follow ``after`` directly. ``prev == 0-0`` marks a log that was
    recreated after it expired (long idle): nothing older is retained, and nothing is missing.
    With no entries, the log must not have moved past ``after`` (else they were trimmed)."""
    if entries:
        first = entries[0].prev
        return first in (after, ZERO)
    return seq_of(last) <= seq_of(after)


@dataclass(frozen=True)
class Appended:
    """What an append stores of an event, beside the ids the store gives it."""

    event_id: str
    type: str
    frame: str
    hidden: str = ""  # hidden_field() of the users it must not reach


class ReplayStore(Protocol):
    publishes: bool  # whether append(..., publish=prefix) also rings the doorbells

    def append(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]:
        """Append one event to each group's log; its id and each group's previous id."""
        ...

    async def aappend(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]: ...

    async def last_ids(self, groups: list[str]) -> list[str]: ...

    async def read_after(self, group: str, after: str) -> list[Entry] | None:
        """Entries after ``after``, oldest first; None when some were trimmed (a hole)."""
        ...

    async def save_session(self, session_id: str, record: SessionRecord) -> None: ...

    async def save_sessions(self, records: dict[str, SessionRecord]) -> None:
        """Save several sessions at once (the per-process checkpoint timer)."""
        ...

    async def load_session(self, session_id: str) -> SessionRecord | None: ...

    async def delete_session(self, session_id: str) -> None: ...

    def stamp_access(self, scopes: list[str], at: float) -> None:
        """Record that access changed in each scope at ``at`` (kept as long as sessions)."""
        ...

    async def access_stamps(self, scopes: list[str]) -> dict[str, float]:
        """The stamps found among ``scopes`` (absent ones are left out)."""
        ...


def server_scope(server_id: object) -> str:
    """Access changed for everyone in a server (a role or an overwrite changed)."""
    return f"srv.{server_id}"


def member_scope(server_id: object, user_id: object) -> str:
    """Access changed for one user in a server (kick, ban, leave, their roles)."""
    return f"srv.{server_id}.{user_id}"


def participant_scope(channel_id: object, user_id: object) -> str:
    """Access changed for one user in a DM or group channel (left it)."""
    return f"ch.{channel_id}.{user_id}"


def channel_scopes(user_id: object, channel_id: object, server_id: object | None) -> list[str]:
    """The stamps that tell whether the user's access to one channel changed."""
    if server_id is None:
        return [participant_scope(channel_id, user_id)]
    return [server_scope(server_id), member_scope(server_id, user_id)]
