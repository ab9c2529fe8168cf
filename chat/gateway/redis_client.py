"""Redis clients for the gateway's own state (replay streams, sessions, connection registry).

The channel layer has its own connections; these are for the keys the gateway reads and writes
directly. One synchronous client per process (REST code, management commands) and one asyncio
client per event loop (the consumers), both on ``settings.HAVEN.redis_url``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

_sync: dict[str, redis.Redis] = {}
_sync_lock = threading.Lock()
_async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)


def enabled() -> bool:
    return bool(settings.HAVEN.redis_url)


def sync_client() -> redis.Redis:
    url = settings.HAVEN.redis_url
    client = _sync.get(url)
    if client is None:
        with _sync_lock:
            client = _sync.get(url)
            if client is None:
                client = redis.Redis.from_url(url, decode_responses=True)
                _sync[url] = client
    return client


def async_client() -> aioredis.Redis:
    url = settings.HAVEN.redis_url
    loop = asyncio.get_running_loop()
    found = _async.get(loop)
    if found is None or found[0] != url:
        client: Any = aioredis.Redis.from_url(url, decode_responses=True)
        _async[loop] = (url, client)
        return client
    return found[1]
