"""REST benchmark (a script, not a test): docs/performance.md has the figures.

One real Daphne process (``python -m haven_site.serve``) on loopback against the machine's
PostgreSQL and Redis; ``--clients`` concurrent HTTP/1.1 keep-alive clients (httpx), each a member
of one server, hammer one route for ``--seconds``:

* ``send``: POST /api/v1/channels/{id}/messages (a 400-byte ciphertext; the whole write path:
  access check, insert, NewMessage published to the replay store and the channel layer);
* ``history``: GET /api/v1/channels/{id}/messages?limit=50 (a full page of 50);
* ``servers``: GET /api/v1/servers (the client's start-up list).

Reported per route: requests per second, p50/p99 latency, and server CPU per request (user +
system time of the Daphne process from /proc, over the run).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/rest_api.py [--clients 20] [--seconds 10] \\
        [--routes send,history,servers]

It uses the database ``<DATABASE_URL name>_live`` and the Redis DB eight away from REDIS_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import (  # noqa: E402
    cpu_seconds,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    prepare_database,
)


def message_body(n: int) -> dict[str, Any]:
    return {
        "channel_id": str(uuid.uuid4()),  # ignored: the path wins (api.md 2.9)
        "sender_token": base64.b64encode(os.urandom(32)).decode(),
        "encrypted_body": base64.b64encode(os.urandom(400)).decode(),
        "has_attachments": False,
        "nonce": f"bench-{n}-{uuid.uuid4().hex}",
    }


async def run_route(
    route: str, base: str, tokens: list[str], channel: str, seconds: float
) -> list[float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    counter = 0

    async def client(token: str) -> None:
        nonlocal counter
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                counter += 1
                started = time.perf_counter()
                if route == "send":
                    response = await http.post(
                        f"/api/v1/channels/{channel}/messages", json=message_body(counter)
                    )
                elif route == "history":
                    response = await http.get(f"/api/v1/channels/{channel}/messages?limit=50")
                else:
                    response = await http.get("/api/v1/servers")
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"{route}: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(client(t) for t in tokens))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--routes", default="send,history,servers")
    args = parser.parse_args()

    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]), live_redis_url(os.environ["REDIS_URL"])
    )
    prepare_database(env)
    server = live_process(env, "rest-bench").start()
    try:
        run = uuid.uuid4().hex[:6]
        users = [server.register(f"b{run}{i}") for i in range(args.clients)]
        owner = users[0]["token"]
        created = server.rest("POST", "/servers", owner, {"encrypted_meta": "e30="})
        channel = created["system_channel_id"]
        code = server.rest("POST", f"/servers/{created['id']}/invites", owner, {})["code"]
        for user in users[1:]:
            server.rest("POST", f"/invites/{code}/join", user["token"])
        tokens = [u["token"] for u in users]
        for n in range(60):  # a full history page to read
            server.rest("POST", f"/channels/{channel}/messages", owner, message_body(n))

        print(f"{args.clients} clients, {args.seconds:.0f} s per route, one Daphne process")
        print(f"{'route':<9} {'req/s':>8} {'p50':>9} {'p99':>9} {'CPU/req':>9}")
        assert server.process is not None
        for route in args.routes.split(","):
            cpu_before = cpu_seconds(server.process.pid)
            started = time.monotonic()
            latencies = asyncio.run(run_route(route, server.url, tokens, channel, args.seconds))
            elapsed = time.monotonic() - started
            cpu = cpu_seconds(server.process.pid) - cpu_before
            latencies.sort()
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            print(
                f"{route:<9} {len(latencies) / elapsed:>8.0f} "
                f"{statistics.median(latencies) * 1000:>7.1f}ms {p99 * 1000:>7.1f}ms "
                f"{cpu / len(latencies) * 1000:>7.2f}ms"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
