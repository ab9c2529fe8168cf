"""Sync work (the ORM, sync Redis) called from async code: the gateway's and voice's actions.

``in_thread(func)`` runs ``func`` on the event loop's worker-thread pool, as the HTTP handler
runs a request (haven_site.handler), and returns the thread's database connection to the pool
when it ends.

Channels' ``database_sync_to_async`` is *thread-sensitive*: outside a sync request (and the
gateway never is inside one) asgiref runs every such call of the process on one single thread,
one after the other. A socket's slow query then held up every other socket's operations, and a
reconnect storm authenticated its handshakes one at a time. Each connection awaits its own
calls, so running them side by side keeps each connection's order. It also closed connections
before *and* after each call; every call here closes after itself, so the one before found
nothing to do.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


def in_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)
