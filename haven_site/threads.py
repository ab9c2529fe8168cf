"""Sync work (the ORM, sync Redis) called from async code: HTTP requests (haven_site.handler),
the gateway's and voice's actions.

``run_in_thread(func, *args)`` runs ``func`` on the event loop's worker-thread pool in a copy of
the caller's context; ``in_thread(func)`` is the same as a callable that also returns the
thread's database connection to the pool when ``func`` ends.

Why not asgiref's ``sync_to_async``, which does the same: per call it builds a wrapper object
(``functools.update_wrapper``, two coroutine checks), shields the executor's future, and walks
every context variable twice to copy values back and forth between the loop and the thread
(py-spy put a fifth of the event loop's share of an API request there; docs/performance.md,
"The fourth round").
Nothing here needs the copy back: what a request or operation returns is its result, and the
context variables it sets (Django's script prefix, translation, the cache epochs) belong to it
alone. What ``async_to_sync`` needs from inside the thread (the loop to go back to: the
in-memory channel layer of the embedded default is used that way) is set as asgiref sets it.

Channels' ``database_sync_to_async`` is *thread-sensitive*: outside a sync request (and the
gateway never is inside one) asgiref runs every such call of the process on one single thread,
one after the other. A socket's slow query then held up every other socket's operations, and a
reconnect storm authenticated its handshakes one at a time. Each connection awaits its own
calls, so running them side by side keeps each connection's order.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.db import close_old_connections

P = ParamSpec("P")
R = TypeVar("R")


async def run_in_thread(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await func(*args, **kwargs)`` on the loop's worker pool, in a copy of this context."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    if kwargs:  # run_in_executor passes positional arguments only
        return await loop.run_in_executor(
            None, _enter, loop, context, functools.partial(func, *args, **kwargs), ()
        )
    return await loop.run_in_executor(None, _enter, loop, context, func, args)


def _enter(
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    call: Callable[..., R],
    args: tuple[Any, ...],
) -> R:
    # What asgiref's AsyncToSync looks for to run a coroutine on this loop from this thread.
    local = SyncToAsync.threadlocal
    local.main_event_loop = loop
    local.main_event_loop_pid = os.getpid()
    local.task_context = []
    return context.run(call, *args)


def in_thread(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``func`` as a coroutine function that runs in a worker thread and then returns the
    thread's database connection to the pool (every call closes after itself)."""
    return functools.partial(run_in_thread, _closing_after, func)


def _closing_after(func: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()
