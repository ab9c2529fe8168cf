"""Gateway fan-out benchmark (a script, not a test): docs/performance.md has the figures.

Real Daphne process(es) (``python -m haven_site.serve``) on loopback, real Redis and PostgreSQL;
100 receivers subscribed to one channel (spread over the instances), a publisher process
publishing ``NewMessage``-sized events to that channel at 20 per second through realtime.events
(the path every action uses after commit: replay-store append, then the channel-layer doorbell).

Measured per message: latency from publish to the *last* of the receivers (p50, p99, max; the
first ``--warmup`` messages, 20 by default, are left out of the latency figures);
per run: deliveries per CPU-second, where CPU = user+system time of the Daphne process(es) plus
the Redis server (from /proc) over the publishing window. Each channel layer is measured in turn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_h5 REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/gateway_fanout.py [--receivers 100] [--rate 20] [--seconds 20] \\
        [--instances 1] [--layers pubsub,core]

It uses the database ``<DATABASE_URL name>_live`` and the Redis DB eight away from REDIS_URL's
(both wiped/migrated).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import (  # noqa: E402
    HavenProcess,
    cpu_seconds,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    manage,
    prepare_database,
)


def redis_pid(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("server")["process_id"])


# --- publisher (a child process with Django set up) ------------------------------------------


async def publish(channel: str, rate: float, count: int) -> None:
    import django

    django.setup()
    from realtime.events import Event, adispatch, to_channels

    body = base64.b64encode(os.urandom(300)).decode()
    audience = to_channels(uuid.UUID(channel))
    start = time.perf_counter()
    for n in range(count):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        payload = {
            "id": str(uuid.uuid4()),
            "channel_id": channel,
            "sender_token": "dGVzdA==",
            "encrypted_body": body,
            "timestamp": "2026-01-01T00:00:00Z",
            "expires_at": None,
            "has_attachments": False,
            "edited": False,
            "n": n,
            "t": time.time(),
        }
        await adispatch(Event("NewMessage", payload, audience))


# --- receivers --------------------------------------------------------------------------------


async def receive_all(
    servers: list[HavenProcess],
    tokens: list[str],
    channel: str,
    count: int,
    publisher: list[str],
    env: dict[str, str],
    redis_url: str,
    warmup: int,
) -> dict[str, Any]:
    import websockets

    arrivals: dict[int, list[float]] = {}
    sent: dict[int, float] = {}
    sockets = []
    for index, token in enumerate(tokens):
        server = servers[index % len(servers)]
        ws = await websockets.connect(server.ws_url(token), compression=None, max_size=None)
        assert json.loads(await ws.recv())["type"] == "Hello"
        await ws.send(json.dumps({"type": "Subscribe", "payload": {"channel_id": channel}}))
        while json.loads(await ws.recv())["type"] != "Subscribed":
            pass
        sockets.append(ws)
    done = asyncio.Event()
    expected = len(sockets) * count

    async def reader(ws: Any) -> None:
        got = 0
        async for text in ws:
            now = time.time()
            frame = json.loads(text)
            if frame["type"] != "NewMessage":
                continue
            n = frame["payload"]["n"]
            sent[n] = frame["payload"]["t"]
            arrivals.setdefault(n, []).append(now)
            got += 1
            if sum(len(v) for v in arrivals.values()) >= expected:
                done.set()

    tasks = [asyncio.create_task(reader(ws)) for ws in sockets]
    await asyncio.sleep(1)
    pids = [s.process.pid for s in servers if s.process] + [redis_pid(redis_url)]
    cpu_before = [cpu_seconds(p) for p in pids]
    wall = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*publisher, cwd=ROOT, env=env)
    timeout = count / 20 + 60
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout)
    await proc.wait()
    cpu_after = [cpu_seconds(p) for p in pids]
    wall = time.perf_counter() - wall
    for task in tasks:
        task.cancel()
    for ws in sockets:
        await ws.close()
    latencies = sorted(
        (max(v) - sent[n]) * 1000
        for n, v in arrivals.items()
        if len(v) == len(sockets) and n >= warmup
    )
    delivered = sum(len(v) for v in arrivals.values())
    server_cpu = sum(a - b for a, b in zip(cpu_after[:-1], cpu_before[:-1], strict=True))
    redis_cpu = cpu_after[-1] - cpu_before[-1]
    return {
        "messages": count,
        "receivers": len(sockets),
        "delivered": delivered,
        "expected": expected,
        "complete_messages": sum(1 for v in arrivals.values() if len(v) == len(sockets)),
        "warmup_messages": warmup,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "server_cpu_s": round(server_cpu, 2),
        "redis_cpu_s": round(redis_cpu, 2),
        "wall_s": round(wall, 1),
        "deliveries_per_cpu_s": round(delivered / max(server_cpu + redis_cpu, 1e-9)),
    }


def run(layer: str, args: argparse.Namespace) -> dict[str, Any]:
    database_url = live_database_url(os.environ["DATABASE_URL"])
    redis_url = live_redis_url(os.environ["REDIS_URL"])
    env = live_env(database_url, redis_url, HAVEN_CHANNEL_LAYER=layer, LOG_LEVEL="WARNING")
    prepare_database(env)
    servers = [live_process(env, f"bench-{layer}-{i}").start() for i in range(args.instances)]
    try:
        owner = servers[0].register(f"o{uuid.uuid4().hex[:12]}")
        per_user = 10
        members = [
            servers[0].register(f"m{uuid.uuid4().hex[:12]}")
            for _ in range((args.receivers + per_user - 1) // per_user)
        ]
        fixture = ["gateway_publish", "--fixture", owner["id"]]
        for member in members:
            fixture += ["--member", member["id"]]
        channel = json.loads(manage(*fixture, env=env).stdout.splitlines()[-1])["channel_id"]
        tokens = [members[i // per_user]["token"] for i in range(args.receivers)]
        count = int(args.rate * args.seconds)
        publisher = [
            sys.executable,
            __file__,
            "--publish",
            channel,
            "--rate",
            str(args.rate),
            "--count",
            str(count),
        ]
        result = asyncio.run(
            receive_all(servers, tokens, channel, count, publisher, env, redis_url, args.warmup)
        )
        result["layer"] = layer
        result["instances"] = args.instances
        return result
    finally:
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receivers", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--layers", default="pubsub,core")
    parser.add_argument("--warmup", type=int, default=20, help="messages left out of latency")
    parser.add_argument("--publish", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        asyncio.run(publish(args.publish, args.rate, args.count))
        return
    for layer in args.layers.split(","):
        print(json.dumps(run(layer, args)), flush=True)


if __name__ == "__main__":
    main()
