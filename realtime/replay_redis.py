"""The replay store on Redis Streams: one Lua call appends an event to every group's log (and,
on the pub/sub channel layer, rings the doorbells in the same atomic step). Keys:

* ``haven:ev:clock``        the global id clock (last ms and sequence number);
* ``haven:ev:<group>``      the group's stream: id -> event id ``e``, type ``t``, ``prev`` ``p``,
  frame ``f``, hidden-from ``x``;
* ``haven:ev:last:<group>`` the group's last id;
* ``haven:ws:sess:<id>``    a saved session record;
* ``haven:acc:<scope>``     an access stamp.
"""

from __future__ import annotations

from typing import Any

from haven_site import redisconn
from haven_site.redis_scripts import Script
from realtime.replay import (
    ZERO,
    Appended,
    Entry,
    SessionRecord,
    continuous,
    max_events,
    parse_hidden,
    retention_secs,
    session_ttl,
)

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
local event_type = ARGV[9]
local hidden = nil
if prefix ~= '' and ARGV[7] ~= '' then
  hidden = {}
  for user in string.gmatch(ARGV[7], '[^,]+') do hidden[#hidden + 1] = user end
end
for i = 2, #KEYS, 2 do
  local prev = redis.call('GET', KEYS[i + 1]) or '0-0'
  if ARGV[7] == '' then
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[3], id,
               'e', ARGV[1], 't', event_type, 'p', prev, 'f', ARGV[2])
  else
    redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[3], id,
               'e', ARGV[1], 't', event_type, 'p', prev, 'f', ARGV[2], 'x', ARGV[7])
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
_APPEND_SCRIPT = Script(_APPEND)

CLOCK_KEY = "haven:ev:clock"
LAST_ID_TTL_SECS = 86_400


def stream_key(group: str) -> str:
    return f"haven:ev:{group}"  # the append script strips these 9 characters to publish


def last_key(group: str) -> str:
    return f"haven:ev:last:{group}"


def session_key(session_id: str) -> str:
    return f"haven:ws:sess:{session_id}"


def stamp_key(scope: str) -> str:
    return f"haven:acc:{scope}"


def _append_args(groups: list[str], event: Appended, publish: str) -> tuple[list[str], list[Any]]:
    keys = [CLOCK_KEY]
    for group in groups:
        keys += [stream_key(group), last_key(group)]
    retention = retention_secs()
    args: list[Any] = [event.event_id, event.frame, max_events(), retention * 1000, retention]
    args += [LAST_ID_TTL_SECS, event.hidden, publish, event.type]
    return keys, args


def _entries(raw: list[Any]) -> list[Entry]:
    return [
        Entry(
            sid,
            fields["e"],
            fields["p"],
            fields["f"],
            parse_hidden(fields.get("x")),
            fields.get("t", ""),
        )
        for sid, fields in raw
    ]


class RedisReplayStore:
    # The append script can also ring the doorbells itself (``publish``: the pub/sub channel
    # layer's prefix): published inside the script, they leave Redis in exactly the order the
    # events were appended, whichever processes appended them (realtime.bus).
    publishes = True

    def append(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]:
        keys, args = _append_args(groups, event, publish)
        sid, prevs = _APPEND_SCRIPT(keys=keys, args=args)
        return str(sid), [str(p) for p in prevs]

    async def aappend(
        self, groups: list[str], event: Appended, publish: str = ""
    ) -> tuple[str, list[str]]:
        keys, args = _append_args(groups, event, publish)
        sid, prevs = await _APPEND_SCRIPT.bound(redisconn.async_client())(keys=keys, args=args)
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
                pipe.set(session_key(session_id), record.encode(), ex=session_ttl(record))
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
