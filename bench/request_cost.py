"""What one request costs in Python, measured inside one process (a script, not a test).

``bench/send_path.py`` measures real servers, where the CPU time of a request also depends on
what else the machine runs (caches, other tenants): on a shared machine the same code measures
up to twice as much at one moment as at another. This script calls Haven's ASGI application
directly (no Twisted, no Daphne: everything from the edge guard to the response) against the
same PostgreSQL and Redis, for a REST send, a history page of 50 and ``GET /servers``, and
prints per request:

* the process's CPU time (the median of ``--rounds`` rounds; as noisy as the machine);
* or, with ``--calls``, the Python function calls instead (exact: the same code always makes
  the same calls; the profile hook that counts them slows every call, so nothing is timed);
* with ``--callgrind``, under ``valgrind --tool=callgrind``, the instructions executed, which
  do not depend on the machine's load (each route's measured loop is dumped separately).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/request_cost.py [--routes rest-send,history,servers] [--calls]
    # instructions (about 5 minutes):
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p \\
        .venv/bin/python bench/request_cost.py --callgrind --requests 40 --rounds 1

It uses the database ``<DATABASE_URL name>_live`` and the Redis DB eight away from REDIS_URL's,
like the other benchmarks (created and migrated if needed; the Redis DB is emptied). Under
callgrind, each route's loop is one dump (``Trigger: dump <route>``); its ``summary`` line
divided by ``--requests`` is the instructions per request.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import (  # noqa: E402
    live_database_url,
    live_env,
    live_redis_url,
    prepare_database,
)

Call = Callable[[], Awaitable[tuple[int, bytes]]]


async def request(
    app: Any, method: str, path: str, token: str | None = None, body: Any = None, query: str = ""
) -> tuple[int, bytes]:
    """One HTTP request through the ASGI application: (status, body)."""
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [(b"host", b"127.0.0.1"), (b"content-length", str(len(raw)).encode())]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict[str, Any]] = []
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def message_body(channel: str) -> dict[str, Any]:
    return {
        "channel_id": channel,
        "sender_token": base64.b64encode(os.urandom(32)).decode(),
        "encrypted_body": base64.b64encode(os.urandom(96)).decode(),
        "has_attachments": False,
    }


async def routes(app: Any) -> dict[str, Call]:
    """A server, its owner and a plain member (roles and overwrites apply), 60 messages."""
    from tests.helpers import PASSWORD, key_material

    run = uuid.uuid4().hex[:6]

    async def register(name: str) -> str:
        body = {"username": name, "password": PASSWORD, **key_material(name)}
        status, data = await request(app, "POST", "/api/v1/auth/register", body=body)
        assert status == 200, data
        return str(json.loads(data)["access_token"])

    owner, member = await register(f"co{run}"), await register(f"cm{run}")
    _, data = await request(app, "POST", "/api/v1/servers", owner, {"encrypted_meta": "e30="})
    server = json.loads(data)
    channel = server["system_channel_id"]
    _, data = await request(app, "POST", f"/api/v1/servers/{server['id']}/invites", owner, {})
    await request(app, "POST", f"/api/v1/invites/{json.loads(data)['code']}/join", member)
    messages = f"/api/v1/channels/{channel}/messages"
    for _ in range(60):
        await request(app, "POST", messages, member, message_body(channel))
    return {
        "rest-send": lambda: request(app, "POST", messages, member, message_body(channel)),
        "history": lambda: request(app, "GET", messages, member, query="limit=50"),
        "servers": lambda: request(app, "GET", "/api/v1/servers", member),
    }


class CallCounter:
    """Python function calls in every thread while ``on`` (set before the threads start)."""

    def __init__(self) -> None:
        self.on = False
        self.calls = 0
        threading.setprofile(self.profile)
        sys.setprofile(self.profile)

    def profile(self, frame: Any, event: str, arg: Any) -> None:
        if self.on and event == "call":
            self.calls += 1


def callgrind(command: str, label: str = "") -> None:
    """Zero (``-z``) or dump (``-d label``) this process's callgrind counters."""
    args = ["callgrind_control", command, *([label] if label else []), str(os.getpid())]
    subprocess.run(args, check=True, capture_output=True)


async def measure(args: argparse.Namespace, counter: CallCounter | None) -> None:
    from haven_site.asgi import application

    calls = await routes(application)
    for name in args.routes.split(","):
        call = calls[name]
        for _ in range(30):  # warm: caches filled, connections open
            status, data = await call()
            assert status == 200, data
        if counter is not None:  # the profile hook slows every call: counted, not timed
            counter.calls, counter.on = 0, True
            for _ in range(args.requests):
                await call()
            counter.on = False
            print(f"{name}: {counter.calls / args.requests:.0f} Python calls per request")
            continue
        cpu = []
        for _ in range(args.rounds):
            if args.callgrind:
                callgrind("-z")
            started = time.process_time()
            for _ in range(args.requests):
                await call()
            cpu.append((time.process_time() - started) / args.requests * 1000)
            if args.callgrind:
                callgrind("-d", name)
        line = f"{name}: {statistics.median(cpu):.2f} ms CPU per request"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default="rest-send,history,servers")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", action="store_true", help="count Python calls per request")
    parser.add_argument("--callgrind", action="store_true", help="dump callgrind per route")
    args = parser.parse_args()
    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]), live_redis_url(os.environ["REDIS_URL"])
    )
    os.environ.update(env)
    prepare_database(env)
    counter = CallCounter() if args.calls else None
    asyncio.run(measure(args, counter))


if __name__ == "__main__":
    main()
