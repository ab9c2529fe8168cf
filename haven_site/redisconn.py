"""Redis connections: where Redis is (``REDIS_URL``, direct or through Sentinel), and bounded
pools that wait for a free connection instead of failing.

``REDIS_URL`` takes either a plain Redis URL (``redis://[:password@]host:port/db``,
``rediss://`` for TLS, ``unix://``) or a Sentinel URL, for a Redis that must stay up when its
host fails:

    redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/<master name>[/<db>]
        [?sentinel_password=...]

The password authenticates to the master (and to the Sentinels unless ``sentinel_password``
is given). Every Redis user of the application (the cache, the channel layer, the gateway's
replay store and registry, the rate limits) follows the master the Sentinels name, so a
failover moves them all. A managed Redis with its own failover behind one address needs no
Sentinel URL.

Pools: at most ``REDIS_MAX_CONNECTIONS`` connections per pool and process; a caller that finds
them all busy waits up to ``REDIS_POOL_TIMEOUT`` seconds for one (redis-py's
``BlockingConnectionPool``) rather than failing with ``Too many connections``: a reconnect
storm queues instead of breaking (docs/deployment.md, docs/performance.md).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"


@dataclass(frozen=True)
class RedisTarget:
    """Where Redis is: ``url`` for a direct connection, or Sentinels and a master name."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def sentinel(self) -> bool:
        return bool(self.sentinels)

    def connection_kwargs(self) -> dict[str, Any]:
        """Connection options for the master behind the Sentinels."""
        kwargs: dict[str, Any] = {"db": self.db}
        if self.username:
            kwargs["username"] = self.username
        if self.password:
            kwargs["password"] = self.password
        return kwargs

    def sentinel_kwargs(self) -> dict[str, Any]:
        password = self.sentinel_password or self.password
        return {"password": password} if password else {}


def parse_redis_url(url: str) -> RedisTarget:
    """``REDIS_URL`` as a RedisTarget; ValueError with a readable reason when it is malformed."""
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss", "unix"):
        return RedisTarget(url=url)
    if parts.scheme != SENTINEL_SCHEME:
        raise ValueError(
            "must start with redis://, rediss://, unix:// or redis+sentinel:// "
            f"(got {parts.scheme or 'no scheme'})"
        )
    hosts = parts.netloc.rpartition("@")[2]
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, "26379"
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise ValueError(f"has a malformed Sentinel address {item!r} (host:port)")
        sentinels.append((host, int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("must name the master: redis+sentinel://host:port/<master name>[/<db>]")
    if len(path) == 2 and not path[1].isdigit():
        raise ValueError(f"has a database number that is not a number ({path[1]!r})")
    query = parse_qs(parts.query)
    unknown = set(query) - {"sentinel_password"}
    if unknown:
        raise ValueError(f"has unknown options: {', '.join(sorted(unknown))}")
    return RedisTarget(
        sentinels=tuple(sentinels),
        master=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sentinel_password=query.get("sentinel_password", [None])[0],
    )


def _limits() -> dict[str, Any]:
    from django.conf import settings

    return {
        "max_connections": settings.HAVEN.redis_max_connections,
        "timeout": settings.HAVEN.redis_pool_timeout_secs,
    }


def sync_pool(url: str, **options: Any) -> Any:
    """A bounded, waiting pool of synchronous connections to the Redis of ``url``."""
    import redis
    from redis.sentinel import Sentinel, SentinelConnectionPool

    target = parse_redis_url(url)
    limits = {**_limits(), **options}
    if not target.sentinel:
        return redis.BlockingConnectionPool.from_url(url, **limits)

    class BlockingSentinelPool(SentinelConnectionPool, redis.BlockingConnectionPool):
        pass

    manager = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
    # redis-py leaves SentinelConnectionPool.__init__ untyped (``unused-ignore``: until mypy
    # runs strict).
    return BlockingSentinelPool(  # type: ignore[no-untyped-call, unused-ignore]
        target.master, manager, **target.connection_kwargs(), **limits
    )


def async_pool(url: str, **options: Any) -> Any:
    """``sync_pool`` for asyncio (one per event loop)."""
    import redis.asyncio as aioredis
    from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

    target = parse_redis_url(url)
    limits = {**_limits(), **options}
    if not target.sentinel:
        return aioredis.BlockingConnectionPool.from_url(url, **limits)

    class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
        pass

    manager = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs())
    # redis-py leaves SentinelConnectionPool.__init__ untyped (``unused-ignore``: until mypy
    # runs strict).
    return BlockingSentinelPool(  # type: ignore[no-untyped-call, unused-ignore]
        target.master, manager, **target.connection_kwargs(), **limits
    )


class CachePool:
    """Django's RedisCache ``pool_class``: it builds its pools with ``from_url``."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Any:
        return sync_pool(url, **options)


def channel_layer_host(url: str) -> dict[str, Any]:
    """One ``hosts`` entry of channels_redis for ``url`` (it builds its own asyncio pools)."""
    target = parse_redis_url(url)
    if not target.sentinel:
        return {"address": url}
    return {
        "master_name": target.master,
        "sentinels": [list(s) for s in target.sentinels],
        "sentinel_kwargs": target.sentinel_kwargs(),
        **target.connection_kwargs(),
    }


# --- the application's own clients (beside the cache's and the channel layer's) ---------------

_sync: dict[tuple[str, bool], Any] = {}
_sync_lock = threading.Lock()
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, bool], Any]] = (
    weakref.WeakKeyDictionary()
)


def enabled() -> bool:
    from django.conf import settings

    return bool(settings.HAVEN.redis_url)


def sync_client(*, decode: bool = True) -> Any:
    """The process's synchronous client (thread-safe), strings decoded unless ``decode=False``."""
    import redis
    from django.conf import settings

    key = (settings.HAVEN.redis_url, decode)
    client = _sync.get(key)
    if client is None:
        with _sync_lock:
            client = _sync.get(key)
            if client is None:
                pool = sync_pool(key[0], decode_responses=decode)
                client = _sync[key] = redis.Redis(connection_pool=pool)
    return client


def async_client(*, decode: bool = True) -> Any:
    """The running event loop's asyncio client."""
    import redis.asyncio as aioredis
    from django.conf import settings

    key = (settings.HAVEN.redis_url, decode)
    clients = _async.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(key)
    if client is None:
        pool = async_pool(key[0], decode_responses=decode)
        client = clients[key] = aioredis.Redis(connection_pool=pool)
    return client
