"""The replay store in process memory, for the embedded default without Redis: the same
interface as ``realtime.replay_redis``, and resume then works across reconnects to this process
only."""

from __future__ import annotations

import threading
import time
from collections import deque

from realtime.replay import (
    ZERO,
    Appended,
    Entry,
    SessionRecord,
    continuous,
    max_events,
    parse_hidden,
    retention_secs,
    seq_of,
    session_ttl,
)


class MemoryReplayStore:
    """The same store in this process: resume works across reconnects to this process only."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.logs: dict[str, deque[tuple[float, Entry]]] = {}
        self.last: dict[str, str] = {}
        self.seq = 0
        self.ms = 0
        self.sessions: dict[str, tuple[float, str]] = {}
        self.stamps: dict[str, float] = {}

    def reset(self) -> None:
        with self.lock:
            self.logs.clear()
            self.last.clear()
            self.sessions.clear()
            self.stamps.clear()

    publishes = False

    def append(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]:
        now = time.time()
        horizon = now - retention_secs()
        with self.lock:
            self.ms = max(self.ms, int(now * 1000))
            self.seq += 1
            sid = f"{self.ms}-{self.seq}"
            prevs = []
            for group in groups:
                log = self.logs.setdefault(group, deque())
                prev = self.last.get(group, ZERO)
                hidden = parse_hidden(event.hidden)
                entry = Entry(sid, event.event_id, prev, event.frame, hidden, event.type)
                log.append((now, entry))
                while len(log) > max_events() or (log and log[0][0] < horizon):
                    log.popleft()
                self.last[group] = sid
                prevs.append(prev)
        return sid, prevs

    async def aappend(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]:
        return self.append(groups, event)

    async def last_ids(self, groups: list[str]) -> list[str]:
        with self.lock:
            return [self.last.get(g, ZERO) for g in groups]

    async def read_after(self, group: str, after: str) -> list[Entry] | None:
        floor = seq_of(after)
        with self.lock:
            entries = [e for _, e in self.logs.get(group, ()) if seq_of(e.sid) > floor]
            last = self.last.get(group, ZERO)
        if not continuous(entries, after, last):
            return None
        return entries

    async def save_session(self, session_id: str, record: SessionRecord) -> None:
        with self.lock:
            self.sessions[session_id] = (time.time() + session_ttl(record), record.encode())

    async def save_sessions(self, records: dict[str, SessionRecord]) -> None:
        for session_id, record in records.items():
            await self.save_session(session_id, record)

    async def load_session(self, session_id: str) -> SessionRecord | None:
        with self.lock:
            found = self.sessions.get(session_id)
            if found is None:
                return None
            if found[0] < time.time():
                del self.sessions[session_id]
                return None
        return SessionRecord.decode(found[1])

    async def delete_session(self, session_id: str) -> None:
        with self.lock:
            self.sessions.pop(session_id, None)

    def stamp_access(self, scopes: list[str], at: float) -> None:
        horizon = time.time() - retention_secs()
        with self.lock:
            for scope in scopes:
                self.stamps[scope] = max(at, self.stamps.get(scope, 0.0))
            for scope in [k for k, v in self.stamps.items() if v < horizon]:
                del self.stamps[scope]

    async def access_stamps(self, scopes: list[str]) -> dict[str, float]:
        with self.lock:
            return {s: self.stamps[s] for s in scopes if s in self.stamps}
