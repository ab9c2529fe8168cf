"""The hop from the event loop to a worker thread (haven_site.threads), which every HTTP
request and gateway operation takes once."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import async_to_sync

from haven_site.threads import in_thread, run_in_thread

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


async def test_the_call_runs_in_a_worker_thread_with_the_callers_context() -> None:
    MARK.set("caller")

    def where(suffix: str, *, twice: bool = False) -> tuple[str, str]:
        return threading.current_thread().name, MARK.get() + suffix * (2 if twice else 1)

    thread, seen = await run_in_thread(where, "!", twice=True)
    assert thread != threading.current_thread().name
    assert seen == "caller!!"


async def test_what_the_thread_sets_stays_in_the_thread() -> None:
    """No copy back: a request's or operation's context variables are its own (asgiref's
    sync_to_async copied every one back into the caller, and the next call carried them on)."""
    MARK.set("caller")
    await run_in_thread(MARK.set, "thread")
    assert MARK.get() == "caller"
    assert await run_in_thread(MARK.get) == "caller"


async def test_async_to_sync_inside_runs_on_the_callers_loop() -> None:
    """The in-memory channel layer of the embedded default is reached this way from actions."""
    loop = asyncio.get_running_loop()

    async def running_loop() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert await run_in_thread(async_to_sync(running_loop)) is loop


async def test_exceptions_reach_the_caller() -> None:
    def fail() -> None:
        raise LookupError("from the thread")

    with pytest.raises(LookupError, match="from the thread"):
        await in_thread(fail)()
