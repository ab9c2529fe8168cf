"""haven_site.redis_scripts: Lua scripts called from the worker threads on each thread's own
connection, answering as redis-py's ``Script`` does, and cheap per call (docs/performance.md,
"The fifth round")."""

from __future__ import annotations

import gc
import sys
import threading
import uuid
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

from haven_site import redis_scripts, redisconn
from haven_site.redis_scripts import Script

pytestmark = pytest.mark.redis

SOURCE = """
local count = redis.call('INCR', KEYS[1])
return {count, redis.call('GET', KEYS[1]), ARGV[1], tonumber(ARGV[2]) * 2}
"""


@pytest.fixture
def key() -> Iterator[str]:
    name = f"test:scripts:{uuid.uuid4().hex}"
    yield name
    redisconn.sync_client().delete(name)


def test_it_answers_as_redis_py_does(key: str) -> None:
    script = Script(SOURCE)
    ours = script([key], ["text", 21])
    theirs = redisconn.sync_client().register_script(SOURCE)(keys=[key], args=["text", 21])
    assert ours == [1, "1", "text", 42]
    assert theirs == [2, "2", "text", 42]
    assert script([key], ["x", 1], decode=False) == [3, b"3", b"x", 2]


def test_a_script_redis_forgot_is_loaded_again(key: str) -> None:
    script = Script(SOURCE)
    assert script([key], ["a", 1])[0] == 1
    redisconn.sync_client().script_flush()  # as a restarted Redis would have it
    assert script([key], ["a", 1])[0] == 2


def test_a_dropped_connection_is_replaced(key: str) -> None:
    script = Script(SOURCE)
    assert script([key], ["a", 1])[0] == 1
    connection = redis_scripts.thread_connection()
    connection.send_command("CLIENT", "ID")
    client_id = connection.read_response()
    redisconn.sync_client().client_kill_filter(_id=client_id)
    assert script([key], ["a", 1])[0] == 2  # the killed connection was retried on a new one


def test_a_script_error_is_raised_and_the_connection_stays_usable(key: str) -> None:
    from redis.exceptions import ResponseError

    with pytest.raises(ResponseError):
        Script("return redis.call('NOSUCHCOMMAND')")([key])
    assert Script(SOURCE)([key], ["a", 1])[0] == 1


def test_each_thread_keeps_one_connection_of_its_own() -> None:
    here = redis_scripts.thread_connection()
    assert redis_scripts.thread_connection() is here
    there: list[Any] = []
    worker = threading.Thread(target=lambda: there.append(redis_scripts.thread_connection()))
    worker.start()
    worker.join()
    assert there[0] is not here


def test_a_call_costs_a_handful_of_python_calls(key: str) -> None:
    """What the module is for: redis-py's Script makes about 100 Python calls per call."""
    script = Script(SOURCE)
    script([key], ["a", 1])  # connected, loaded
    calls = 0

    def count(frame: FrameType, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    # A garbage collection during the call would count the finalizers of earlier tests'
    # objects (a dropped connection's __del__): collect first, and not while counting.
    gc.collect()
    gc.disable()
    sys.setprofile(count)
    try:
        script([key], ["a", 1])
    finally:
        sys.setprofile(None)
        gc.enable()
    assert calls <= 20, calls
