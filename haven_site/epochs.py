"""Per-process caches of rows read on every request, exact across processes.

Every request checks its session, and most check membership, roles and overwrites: the same few
rows, read again and again, that change rarely. ``EpochCache`` keeps what was computed from them
in the process, tagged with an *epoch*: a counter in Redis (in this process's memory without
Redis) that moves whenever any of the tables behind the cache is written, by any process.

* Writes are seen where they happen: every SQL statement of every Django connection passes
  ``_watch_writes`` (an execute wrapper); an INSERT, UPDATE or DELETE of a watched table (or a
  TRUNCATE) bumps the tables' epoch once the write is committed: at once in autocommit, else
  from ``transaction.on_commit`` (so a rolled-back write bumps nothing; it changed nothing).
* A cached value is used only while the epoch read *before* it was computed is still the current
  one. The epoch is read from Redis once per unit of work (``begin()``: a request, a gateway
  operation) and otherwise at every use. So a change committed and bumped before a request
  starts is seen by that request, in every process: a revoked session, a kick or an overwrite
  takes effect at once, as without the cache. Where a unit of work starts with a Redis round
  trip of its own (the rate limit of a request or gateway operation), that round trip reads the
  epochs too (``read_lua``) and the unit begins with them (``begin(known)``): the same read,
  without a round trip of its own.
* Inside a transaction (``atomic``) the cache is neither read nor filled: the transaction may
  have written rows behind it that are not committed yet.
* Epoch values never repeat: a missing key (a fresh or flushed Redis) starts at a random value,
  so entries tagged before Redis lost its data cannot match again; and an epoch is read with the
  master's replication id, so after a failover (to a replica that may have missed the last
  bumps) nothing cached before matches either. A value that cannot be read (Redis down)
  bypasses the cache; entries also expire after ``MAX_AGE_SECS``.

Writes that do not go through Django (psql by hand) are not seen until the next watched write or
``MAX_AGE_SECS``; docs/performance.md says so.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.backends.signals import connection_created

from haven_site.redis_scripts import Script

logger = logging.getLogger("haven.epochs")

T = TypeVar("T")
EpochValues = dict[str, str | None]  # epoch name -> its tag (None: do not use the cache)
MAX_AGE_SECS = 300.0
MAX_ENTRIES = 50_000
KEY_PREFIX = "haven:epoch:"

_tables: dict[str, str] = {}  # table -> epoch name
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)
_local = threading.local()
_memory: dict[str, int] = {}  # epochs without Redis
_memory_lock = threading.Lock()


def read_lua(first_key: int, start_arg: int) -> str:
    """Lua that reads the epochs named by ``KEYS[first_key..]`` into the table ``epochs``, each
    tagged with the master's replication id; a missing one starts at ``ARGV[start_arg]``. Other
    scripts include it to read the epochs in a round trip they make anyway."""
    return f"""
local info = redis.call('INFO', 'replication')
local replid = string.match(info, 'master_replid:(%w+)') or ''
local epochs = {{}}
for i = {first_key}, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if not value then
    redis.call('INCRBY', KEYS[i], ARGV[{start_arg}])
    value = redis.call('GET', KEYS[i])
  end
  epochs[#epochs + 1] = value .. '@' .. replid
end
"""


_READ = read_lua(first_key=1, start_arg=1) + "return epochs\n"
_BUMP = """
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('INCRBY', key, ARGV[1]) end
end
return 1
"""
_READ_SCRIPT = Script(_READ)
_BUMP_SCRIPT = Script(_BUMP)


def watch(epoch: str, *tables: str) -> None:
    """Count writes to ``tables`` (database table names) in ``epoch``."""
    for table in tables:
        _tables[table] = epoch


def _epochs_written(sql: str) -> set[str]:
    head = sql.lstrip()[:8].upper()
    if head.startswith("TRUNCATE"):
        return set(_tables.values())
    if not head.startswith(("INSERT", "UPDATE", "DELETE")):
        return set()
    match = _WRITE.match(sql)
    if match is None:
        return set()
    epoch = _tables.get(match[1].rpartition(".")[2])
    return {epoch} if epoch else set()


def _watch_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    result = execute(sql, params, many, context)
    if _tables and isinstance(sql, str):
        written = _epochs_written(sql)
        if written:
            connection = context["connection"]
            if connection.in_atomic_block:
                _bump_on_commit(connection, written)
            else:
                bump(written)
    return result


def _bump_on_commit(connection: Any, written: set[str]) -> None:
    """One bump per transaction: a callback already waiting for this commit takes the epochs
    (callbacks of a rolled-back savepoint are gone from the list, so none is missed)."""
    for _, waiting, _ in reversed(connection.run_on_commit):
        pending = getattr(waiting, "haven_epochs", None)
        if pending is not None:
            pending |= written
            return
    epochs: set[str] = set(written)

    def callback() -> None:
        bump(epochs)

    callback.haven_epochs = epochs  # type: ignore[attr-defined]
    transaction.on_commit(callback, using=connection.alias)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch_writes)


def install() -> None:
    """Watch every Django connection, present and future (from AppConfig.ready)."""
    connection_created.connect(_install, dispatch_uid="haven-epochs")
    for connection in connections.all(initialized_only=True):
        _install(None, connection)


def _start() -> int:
    return random.randrange(1 << 40, 1 << 52)  # noqa: S311 - uniqueness, not secrecy


def bump(epochs: set[str]) -> None:
    """Move ``epochs`` on (after a committed write)."""
    from haven_site import redisconn

    if not redisconn.enabled():
        with _memory_lock:
            for name in epochs:
                _memory[name] = _memory.get(name, _start()) + 1
        return
    try:
        keys = [KEY_PREFIX + name for name in sorted(epochs)]
        _BUMP_SCRIPT(keys=keys, args=[_start()])
    except Exception:
        # The other processes may keep what this write changed until MAX_AGE_SECS: say so.
        logger.exception("Could not publish a cache epoch; other processes may serve stale rows")
        for cache in EpochCache.instances:
            cache.entries.clear()


def _read(names: list[str]) -> EpochValues:
    from haven_site import redisconn

    if not redisconn.enabled():
        with _memory_lock:
            return {n: str(_memory.setdefault(n, _start())) for n in names}
    try:
        keys = keys_of(names)
        values = _READ_SCRIPT(keys=keys, args=[_start()])
        return read_values(names, values)
    except Exception:
        logger.warning("Could not read cache epochs; reading the database", exc_info=True)
        return dict.fromkeys(names)


def begin(known: EpochValues | None = None) -> None:
    """Start a unit of work (a request, a gateway operation): epochs are read once for it, or
    ``known`` already, by the round trip just before it (``read_lua``)."""
    _local.epochs = dict(known) if known else {}


def names_to_read() -> list[str]:
    """The epochs a unit of work may use, in the order ``keys_of`` and ``read_values`` take."""
    return sorted(_names_in_use())


def keys_of(names: list[str]) -> list[str]:
    return [KEY_PREFIX + name for name in names]


def start_value() -> int:
    """Where a missing epoch starts (``read_lua``'s ``ARGV[start_arg]``)."""
    return _start()


def read_values(names: list[str], values: list[Any]) -> EpochValues:
    """The epochs ``names`` as ``read_lua`` returned them (``values``, in order), for ``begin``."""
    return dict(zip(names, (str(v) for v in values), strict=True))


def end() -> None:
    _local.epochs = None


def current(name: str) -> str | None:
    """The epoch ``name`` for this unit of work (None: do not use the cache)."""
    memo: dict[str, str | None] | None = getattr(_local, "epochs", None)
    if memo is None:
        return _read([name])[name]
    if name not in memo:
        memo.update(_read(sorted({name, *_names_in_use()} - set(memo))))
    return memo[name]


M = TypeVar("M")


def copy_row(instance: M) -> M:
    """A model instance's own copy, as ``copy.copy`` makes it (Model.__getstate__: the field
    values, its own ``_state`` and fields cache) without the pickling protocol it goes through:
    cached rows are copied for every caller, so that an action may change and save its own.
    None (a cached "no such row") is returned as it is."""
    if instance is None:
        return instance
    clone = object.__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    state = object.__new__(type(instance._state))  # type: ignore[attr-defined]
    state.__dict__.update(instance._state.__dict__)  # type: ignore[attr-defined]
    if "fields_cache" in state.__dict__:
        state.fields_cache = dict(state.fields_cache)
    clone._state = state  # type: ignore[attr-defined]
    return clone


def _names_in_use() -> set[str]:
    return set(_tables.values()) | {cache.epoch for cache in EpochCache.instances}


class EpochCache:
    """Values computed from the tables of one epoch, keyed by what they were computed from."""

    instances: list[EpochCache] = []

    def __init__(self, epoch: str, *, copy: Callable[[Any], Any] | None = None) -> None:
        self.epoch = epoch
        self.copy = copy  # for mutable values: each caller gets its own
        self.entries: dict[Hashable, tuple[str, float, Any]] = {}
        EpochCache.instances.append(self)

    def get(self, key: Hashable, compute: Callable[[], T], *, using: str = "default") -> T:
        if connections[using].in_atomic_block:
            return compute()
        tag = current(self.epoch)
        if tag is None:
            return compute()
        found = self.entries.get(key)
        now = time.monotonic()
        if found is not None and found[0] == tag and now - found[1] < MAX_AGE_SECS:
            value: T = found[2]
        else:
            value = compute()
            if len(self.entries) >= MAX_ENTRIES:
                self.entries.clear()
            self.entries[key] = (tag, now, value)
        return self.copy(value) if self.copy is not None else value
