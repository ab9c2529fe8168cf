"""Lua scripts on Redis: each one registered once per process, and cheap to call from the
worker threads, where every request and gateway operation calls one or two.

``script = Script(source)`` stands for a script. From sync code, ``script(keys, args)`` runs it
(``EVALSHA``, loading it once on ``NOSCRIPT``) on a connection of the calling thread's own; from
async code, ``await script.bound(client)(keys=..., args=...)`` uses redis-py's ``Script`` on the
event loop's client.

Why the sync side does not use redis-py's ``Script`` either: with redis-py 8 one call costs about
100 Python calls and 80-120 µs of CPU (the retry wrapper, the pool's queue and lock, its
observability hooks, the command packer's generators); the same ``EVALSHA`` packed by hiredis
and written on a connection that the thread keeps costs 7 calls and about 50 µs
(docs/performance.md, "The fifth round"). A REST send and a gateway send each make two: the rate
limit with the cache epochs, and the replay-store append.

The thread's connection is made by the process's pool for ``REDIS_URL`` (``redisconn``), so direct,
TLS, unix-socket and Sentinel URLs connect as everywhere else (a Sentinel connection finds the
master again after a failover); it is one more connection per worker thread, outside the pool's
``REDIS_MAX_CONNECTIONS`` (a thread uses one at a time, and keeps it). A dropped connection is
retried on a fresh one, at most three attempts in all, as redis-py's default retry allows.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from haven_site import redisconn

Arg = str | int | float

_local = threading.local()
ATTEMPTS = 3  # room for a NOSCRIPT (a restarted Redis) and a dropped connection


def _forget_connections() -> None:
    # A forked child must not share its parent's sockets.
    _local.__dict__.clear()


os.register_at_fork(after_in_child=_forget_connections)


def thread_connection(decode: bool = True) -> Any:
    """The calling thread's own connection to the process's Redis (made on first use)."""
    pool = redisconn.sync_client(decode=decode).connection_pool
    connections: dict[int, Any] = _local.__dict__.setdefault("connections", {})
    connection = connections.get(id(pool))
    if connection is None:
        connection = connections[id(pool)] = pool.make_connection()
    return connection


class Script:
    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's script id

    def __call__(
        self, keys: Sequence[str], args: Sequence[Arg] = (), *, decode: bool = True
    ) -> Any:
        """Run the script from sync code; its reply, decoded to text unless ``decode=False``."""
        # hiredis's stub types the argument as a 1-tuple; a tuple of any length is packed.
        packed = hiredis.pack_command(
            ("EVALSHA", self.sha, len(keys), *keys, *args)  # type: ignore[arg-type]
        )
        command = [packed]
        connection = thread_connection(decode)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                # Connects when needed: a Sentinel connection asks for the master here (the
                # send itself would connect to the configured address without asking).
                connection.connect()
                connection.send_packed_command(command, check_health=False)
                return connection.read_response()
            except NoScriptError:
                if attempt == ATTEMPTS:
                    raise
                connection.send_command("SCRIPT", "LOAD", self.source)
                connection.read_response()
            except (RedisConnectionError, RedisTimeoutError):
                # redis-py has closed the connection; the next command opens a new one.
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def bound(self, client: Any) -> Any:
        """redis-py's ``Script`` for ``client`` (the asyncio client), made once per client."""
        scripts: dict[str, Any] | None = getattr(client, "_haven_scripts", None)
        if scripts is None:
            scripts = client._haven_scripts = {}
        script = scripts.get(self.sha)
        if script is None:
            script = scripts[self.sha] = client.register_script(self.source)
        return script
