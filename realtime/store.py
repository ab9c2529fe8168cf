"""The replay store: what ``Resume`` needs, kept outside the process (docs/realtime.md).

Every replayable event is appended once per target group to that group's log, *before* the
channel layer rings the doorbell. Each append gets one id, ``<ms>-<seq>``, where ``seq`` is a
global counter: ids are totally ordered across all groups in publish order, so logs of several
groups merge by id, and an event appended to several groups has the same id in each. Every entry
also records ``prev``, the id that was last in its group before it, so a receiver (live, or a
resume) can tell a continuous read from one with a hole in it.

Bounds: each group log keeps at most ``ws_replay_max_events`` entries (approximately, never fewer)
and nothing older than ``ws_session_ttl_secs`` + 60 s; an idle log expires after that time.
Sessions (``haven:ws:sess:<id>``) hold the user, ``last_active`` and a cursor per group, and
expire ``ws_session_ttl_secs`` after their last activity.

Access stamps (``haven:acc:<scope>``): when access changes (a ``recheck`` control: kick, ban,
leave, role or overwrite change, a group DM left), the time of the change is stamped per server,
per server and user, or per channel and user. A session saved before a stamp of one of its groups
was away while its access changed: ``Resume`` must not replay that group as if nothing happened.

Two implementations of one interface: Redis Streams (one Lua call per event) and, for the
embedded default without Redis, process memory (resume then works within the process only).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from haven_site import redisconn

ZERO = "0-0"
RETENTION_MARGIN_SECS = 60
LAST_ID_TTL_SECS = 86_400


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


class ReplayStore(Protocol):
    publishes: bool  # whether append(..., publish=prefix) also rings the doorbells

    def append(
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
    ) -> tuple[str, list[str]]:
        """Append one event to each group's log; its id and each group's previous id."""
        ...

    async def aappend(
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
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


# --- Redis Streams ----------------------------------------------------------------------------

_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local clock = redis.call('HMGET', KEYS[1], 'ms', 'seq')
local last_ms = tonumber(clock[1] or '0')
if now < last_ms then now = last_ms end
local seq = tonumber(clock[2] or '0') + 1
redis.call('HSET', KEYS[1], 'ms', now, 'seq', seq)
local id = string.format('%d-%d', now, seq)
local minid = string.format('%d', now - tonumber(ARGV[4]))
local prevs = {}
local prefix = ARGV[8]
local hidden = nil
if prefix ~= '' and ARGV[7] ~= '' then
  hidden = {}
  for user in string.gmatch(ARGV[7], '[^,]+') do hidden[#hidden + 1] = user end
end
for i = 2, #KEYS, 2 do
  local prev = redis.call('GET', KEYS[i + 1]) or '0-0'
  if ARGV[7] == '' then
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[3], id,
               'e', ARGV[1], 'p', prev, 'f', ARGV[2])
  else
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[3], id,
               'e', ARGV[1], 'p', prev, 'f', ARGV[2], 'x', ARGV[7])
  end
  redis.call('XTRIM', KEYS[i], 'MINID', '~', minid)
  redis.call('EXPIRE', KEYS[i], ARGV[5])
  redis.call('SET', KEYS[i + 1], id, 'EX', ARGV[6])
  prevs[#prevs + 1] = prev
  if prefix ~= '' then
    local group = string.sub(KEYS[i], 10)
    local doorbell = {type = 'gateway.event', g = group, id = ARGV[1], frame = ARGV[2],
                      sid = id, prev = prev}
    if hidden then doorbell.x = hidden end
    redis.call('PUBLISH', prefix .. '__group__' .. group, cmsgpack.pack(doorbell))
  end
end
return {id, prevs}
"""

CLOCK_KEY = "haven:ev:clock"


def stream_key(group: str) -> str:
    return f"haven:ev:{group}"  # the append script strips these 9 characters to publish


def last_key(group: str) -> str:
    return f"haven:ev:last:{group}"


def session_key(session_id: str) -> str:
    return f"haven:ws:sess:{session_id}"


def stamp_key(scope: str) -> str:
    return f"haven:acc:{scope}"


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


def _append_args(
    groups: list[str], event_id: str, frame: str, hidden: str, publish: str
) -> tuple[list[str], list[Any]]:
    keys = [CLOCK_KEY]
    for group in groups:
        keys += [stream_key(group), last_key(group)]
    retention = retention_secs()
    args: list[Any] = [event_id, frame, max_events(), retention * 1000, retention]
    args += [LAST_ID_TTL_SECS, hidden, publish]
    return keys, args


def _entries(raw: list[Any]) -> list[Entry]:
    return [
        Entry(sid, fields["e"], fields["p"], fields["f"], parse_hidden(fields.get("x")))
        for sid, fields in raw
    ]


def _session_ttl(record: SessionRecord) -> int:
    remaining = settings.HAVEN.ws_session_ttl_secs - (time.time() - record.last_active)
    return max(1, int(remaining))


class RedisReplayStore:
    # The append script can also ring the doorbells itself (``publish``: the pub/sub channel
    # layer's prefix): published inside the script, they leave Redis in exactly the order the
    # events were appended, whichever processes appended them (realtime.bus).
    publishes = True

    def append(
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
    ) -> tuple[str, list[str]]:
        keys, args = _append_args(groups, event_id, frame, hidden, publish)
        sid, prevs = _script(redisconn.sync_client())(keys=keys, args=args)
        return str(sid), [str(p) for p in prevs]

    async def aappend(
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
    ) -> tuple[str, list[str]]:
        keys, args = _append_args(groups, event_id, frame, hidden, publish)
        sid, prevs = await _script(redisconn.async_client())(keys=keys, args=args)
        return str(sid), [str(p) for p in prevs]

    async def last_ids(self, groups: list[str]) -> list[str]:
        if not groups:
            return []
        values = await redisconn.async_client().mget([last_key(g) for g in groups])
        return [str(v) if v else ZERO for v in values]

    async def read_after(self, group: str, after: str) -> list[Entry] | None:
        client = redisconn.async_client()
        async with client.pipeline(transaction=False) as pipe:
            pipe.xrange(stream_key(group), min=f"({after}", max="+", count=max_events() + 1)
            pipe.get(last_key(group))
            raw, last = await pipe.execute()
        entries = _entries(raw)
        if len(entries) > max_events() or not continuous(entries, after, last or ZERO):
            return None
        return entries

    async def save_session(self, session_id: str, record: SessionRecord) -> None:
        await self.save_sessions({session_id: record})

    async def save_sessions(self, records: dict[str, SessionRecord]) -> None:
        if not records:
            return
        async with redisconn.async_client().pipeline(transaction=False) as pipe:
            for session_id, record in records.items():
                pipe.set(session_key(session_id), record.encode(), ex=_session_ttl(record))
            await pipe.execute()

    async def load_session(self, session_id: str) -> SessionRecord | None:
        text = await redisconn.async_client().get(session_key(session_id))
        return SessionRecord.decode(str(text)) if text else None

    async def delete_session(self, session_id: str) -> None:
        await redisconn.async_client().delete(session_key(session_id))

    def stamp_access(self, scopes: list[str], at: float) -> None:
        with redisconn.sync_client().pipeline(transaction=False) as pipe:
            for scope in scopes:
                pipe.set(stamp_key(scope), repr(at), ex=retention_secs())
            pipe.execute()

    async def access_stamps(self, scopes: list[str]) -> dict[str, float]:
        if not scopes:
            return {}
        values = await redisconn.async_client().mget([stamp_key(s) for s in scopes])
        return {s: float(v) for s, v in zip(scopes, values, strict=True) if v}


def _script(client: Any) -> Any:
    """The append script bound to a client (EVALSHA, falling back to EVAL once per server)."""
    script = getattr(client, "_haven_append", None)
    if script is None:
        script = client.register_script(_APPEND)
        client._haven_append = script
    return script


# --- Process memory (embedded default) --------------------------------------------------------


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
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
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
                log.append((now, Entry(sid, event_id, prev, frame, parse_hidden(hidden))))
                while len(log) > max_events() or (log and log[0][0] < horizon):
                    log.popleft()
                self.last[group] = sid
                prevs.append(prev)
        return sid, prevs

    async def aappend(
        self, groups: list[str], event_id: str, frame: str, hidden: str = "", publish: str = ""
    ) -> tuple[str, list[str]]:
        return self.append(groups, event_id, frame, hidden)

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
            self.sessions[session_id] = (time.time() + _session_ttl(record), record.encode())

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


_memory = MemoryReplayStore()
_redis = RedisReplayStore()


def get_store() -> ReplayStore:
    return _redis if redisconn.enabled() else _memory


def memory_store() -> MemoryReplayStore:
    return _memory
