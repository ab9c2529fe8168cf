"""Who is connected, cluster-wide: the per-user connection count (limit, presence, last-disconnect
cleanup), presence statuses, and the admin's ``active_connections``.

Every entry carries an expiry that its connection refreshes while it lives, so entries of a process
that died without cleaning up (kill -9, power loss) run out; ``sweep()`` (run by every instance
from its connections' timers) removes them and reports the users that thereby went offline, so a
crashed instance cannot leave anyone online. Redis keys:

* ``haven:ws:uc:<user>``   sorted set: connection id -> expiry (the per-user count);
* ``haven:ws:conns``       sorted set: ``<user>|<connection>`` -> expiry (sweeping, stats);
* ``haven:ws:pending``     sorted set: user -> when to confirm "offline" (graceful restarts);
* ``haven:presence:<user>`` the stored status (online, idle, dnd, invisible), with a TTL.

Without Redis (embedded default) the same structures live in this process.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from haven_site import redisconn
from haven_site.redis_scripts import Script

CONNS = "haven:ws:conns"
PENDING = "haven:ws:pending"
UC_PREFIX = "haven:ws:uc:"
SWEEP_BATCH = 500


def user_key(user_id: str) -> str:
    return f"{UC_PREFIX}{user_id}"


def presence_key(user_id: str) -> str:
    return f"haven:presence:{user_id}"


def refresh_every() -> float:
    """How often a live connection refreshes its entries (and checks its idle timer's peers)."""
    return max(1.0, settings.HAVEN.ws_heartbeat_timeout_secs / 3)


def entry_ttl() -> float:
    """An entry outlives a missed refresh or two: the idle timeout plus one refresh period."""
    return settings.HAVEN.ws_heartbeat_timeout_secs + refresh_every()


_REGISTER = """
local live = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
if live >= tonumber(ARGV[5]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return live + 1
"""

_UNREGISTER = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
local live = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
if removed == 1 and live == 0 then
  if ARGV[4] ~= '' then
    redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
    return 0
  end
  return 1
end
return 0
"""

_SWEEP = """
local gone = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(expired) do
  redis.call('ZREM', KEYS[1], member)
  local sep = string.find(member, '|', 1, true)
  local user = string.sub(member, 1, sep - 1)
  local uc = ARGV[2] .. user
  local removed = redis.call('ZREM', uc, string.sub(member, sep + 1))
  if removed == 1 and redis.call('ZCOUNT', uc, ARGV[1], '+inf') == 0 then
    gone[#gone + 1] = user
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, user in ipairs(due) do
  redis.call('ZREM', KEYS[2], user)
  if redis.call('ZCOUNT', ARGV[2] .. user, ARGV[1], '+inf') == 0 then
    gone[#gone + 1] = user
  end
end
return gone
"""

_REGISTER_SCRIPT = Script(_REGISTER)
_UNREGISTER_SCRIPT = Script(_UNREGISTER)
_SWEEP_SCRIPT = Script(_SWEEP)


class RedisRegistry:
    async def register(self, user_id: str, conn_id: str, limit: int) -> bool:
        now = time.time()
        client = redisconn.async_client()
        count = await _REGISTER_SCRIPT.bound(client)(
            keys=[user_key(user_id), CONNS],
            args=[conn_id, f"{user_id}|{conn_id}", now, now + entry_ttl(), limit, 86_400],
        )
        return int(count) > 0

    async def refresh(self, user_id: str, conn_id: str) -> None:
        await self.refresh_many([(user_id, conn_id)])

    async def refresh_many(self, connections: list[tuple[str, str]]) -> None:
        """Refresh the entries of (user, connection) pairs in one round trip."""
        expiry = time.time() + entry_ttl()
        async with redisconn.async_client().pipeline(transaction=False) as pipe:
            for user_id, conn_id in connections:
                pipe.zadd(user_key(user_id), {conn_id: expiry})
                pipe.zadd(CONNS, {f"{user_id}|{conn_id}": expiry})
                pipe.expire(user_key(user_id), 86_400)
                pipe.expire(presence_key(user_id), int(entry_ttl()) + 1)
            await pipe.execute()

    async def unregister(self, user_id: str, conn_id: str, *, grace: float = 0) -> bool:
        """Remove a connection; True when it was the user's last one (cluster-wide). With a
        grace period the verdict is deferred: ``sweep()`` confirms it later unless the user
        has reconnected by then (a graceful restart must not flap everyone's presence)."""
        now = time.time()
        client = redisconn.async_client()
        last = await _UNREGISTER_SCRIPT.bound(client)(
            keys=[user_key(user_id), CONNS, PENDING],
            args=[conn_id, f"{user_id}|{conn_id}", now, now + grace if grace else "", user_id],
        )
        return bool(int(last))

    async def sweep(self) -> list[str]:
        client = redisconn.async_client()
        gone = await _SWEEP_SCRIPT.bound(client)(
            keys=[CONNS, PENDING], args=[time.time(), UC_PREFIX, SWEEP_BATCH]
        )
        return sorted(set(gone))

    def connected_users(self) -> int:
        members = redisconn.sync_client().zrangebyscore(CONNS, time.time(), "+inf")
        return len({str(m).partition("|")[0] for m in members})

    async def aset_status(self, user_id: str, status: str) -> str | None:
        """Store the status; the one it replaced (None if there was none)."""
        previous = await redisconn.async_client().set(
            presence_key(user_id), status, ex=int(entry_ttl()) + 1, get=True
        )
        return str(previous) if previous is not None else None

    async def adelete_status(self, user_id: str) -> None:
        await redisconn.async_client().delete(presence_key(user_id))

    def delete_status(self, user_id: str) -> None:
        redisconn.sync_client().delete(presence_key(user_id))

    def get_statuses(self, user_ids: list[str]) -> list[str | None]:
        if not user_ids:
            return []
        values = redisconn.sync_client().mget([presence_key(u) for u in user_ids])
        return [str(v) if v is not None else None for v in values]


class MemoryRegistry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conns: dict[str, dict[str, float]] = {}
        self.pending: dict[str, float] = {}
        self.status: dict[str, tuple[str, float]] = {}

    def reset(self) -> None:
        with self.lock:
            self.conns.clear()
            self.pending.clear()
            self.status.clear()

    def _live(self, user_id: str, now: float) -> int:
        return sum(1 for expiry in self.conns.get(user_id, {}).values() if expiry >= now)

    async def register(self, user_id: str, conn_id: str, limit: int) -> bool:
        now = time.time()
        with self.lock:
            if self._live(user_id, now) >= limit:
                return False
            self.conns.setdefault(user_id, {})[conn_id] = now + entry_ttl()
            return True

    async def refresh_many(self, connections: list[tuple[str, str]]) -> None:
        for user_id, conn_id in connections:
            await self.refresh(user_id, conn_id)

    async def refresh(self, user_id: str, conn_id: str) -> None:
        now = time.time()
        with self.lock:
            self.conns.setdefault(user_id, {})[conn_id] = now + entry_ttl()
            if user_id in self.status:
                self.status[user_id] = (self.status[user_id][0], now + entry_ttl() + 1)

    async def unregister(self, user_id: str, conn_id: str, *, grace: float = 0) -> bool:
        now = time.time()
        with self.lock:
            mine = self.conns.get(user_id, {})
            removed = mine.pop(conn_id, None) is not None
            if not mine:
                self.conns.pop(user_id, None)
            if removed and self._live(user_id, now) == 0:
                if grace:
                    self.pending[user_id] = now + grace
                    return False
                return True
            return False

    async def sweep(self) -> list[str]:
        now = time.time()
        gone: set[str] = set()
        with self.lock:
            for user_id, mine in list(self.conns.items()):
                expired = [c for c, expiry in mine.items() if expiry < now]
                for conn_id in expired:
                    del mine[conn_id]
                if expired and self._live(user_id, now) == 0:
                    gone.add(user_id)
                if not mine:
                    del self.conns[user_id]
            for user_id, due in list(self.pending.items()):
                if due <= now:
                    del self.pending[user_id]
                    if self._live(user_id, now) == 0:
                        gone.add(user_id)
        return sorted(gone)

    def connected_users(self) -> int:
        now = time.time()
        with self.lock:
            return sum(1 for user_id in self.conns if self._live(user_id, now) > 0)

    async def aset_status(self, user_id: str, status: str) -> str | None:
        now = time.time()
        with self.lock:
            found = self.status.get(user_id)
            self.status[user_id] = (status, now + entry_ttl() + 1)
        return found[0] if found and found[1] >= now else None

    async def adelete_status(self, user_id: str) -> None:
        self.delete_status(user_id)

    def delete_status(self, user_id: str) -> None:
        with self.lock:
            self.status.pop(user_id, None)

    def get_statuses(self, user_ids: list[str]) -> list[str | None]:
        now = time.time()
        with self.lock:
            found = [self.status.get(u) for u in user_ids]
        return [item[0] if item and item[1] >= now else None for item in found]


_memory = MemoryRegistry()
_redis = RedisRegistry()


def get_registry() -> RedisRegistry | MemoryRegistry:
    return _redis if redisconn.enabled() else _memory


def memory_registry() -> MemoryRegistry:
    return _memory
