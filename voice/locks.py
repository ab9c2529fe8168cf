"""A small mutual-exclusion lock in Django's cache (Redis when configured), so that instances
sharing voice and call state do not overwrite each other's read-modify-write updates.

``cache.add`` is atomic on both backends (SET NX on Redis, a lock in the local-memory cache). The
lock expires by itself, so a crashed holder blocks others for at most ``ttl`` seconds.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache


class LockTimeout(Exception):
    pass


@contextmanager
def cache_lock(name: str, *, ttl: float = 10.0, wait: float = 5.0) -> Iterator[None]:
    key = f"lock:{name}"
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    delay = 0.002
    while not cache.add(key, token, timeout=ttl):
        if time.monotonic() > deadline:
            raise LockTimeout(name)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)
