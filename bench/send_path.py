"""The whole send path, end to end (a script, not a test): docs/performance.md has the figures.

A user's message takes the REST send (``POST /channels/{id}/messages``) or the gateway's
``SendMessage``: authentication, access check, insert, commit, ack, publish (replay store and
channel layer), then the fan-out to every subscribed socket. This benchmark measures that path
from the sender's clock to the *last* of K receivers, on real Daphne processes
(``python -m haven_site.serve``) against the machine's PostgreSQL and Redis.

Scenarios (``--scenarios``, comma-separated):

* ``rest-K`` / ``ws-K``: one sender (a plain member, not the owner), K receivers subscribed to the
  channel (10 sockets per user), ``--rate`` messages per second (open loop: each send starts on
  time whatever the previous one is doing), ``--messages`` measured messages of 96 bytes after
  ``--warmup`` ones;
* ``burst-K``: ``--burst-senders`` senders on the gateway, each sending its next message as soon
  as the previous one is acknowledged, for ``--burst-seconds``: the throughput a process holds;
* ``cost``: CPU per request with nobody listening (REST send, WS send, a history page of 50,
  ``GET /servers``), four clients in a closed loop: what the request itself costs.

The server runs as in production, with rate limits on (``--no-rate-limits`` to compare), their
limits raised above the benchmark's load: one sender here stands for a channel's many users.

Figures per scenario: p50/p99/max latency from sending to the last receiver, deliveries per
CPU-second where CPU = user+system time of the server process(es), of PostgreSQL's backends
serving this run's database, and of the Redis server (from /proc, over the measured window),
the server's CPU per send, and the server processes' RSS. ``--processes N`` runs N server
processes (``HAVEN_WORKERS``) behind one port; receivers and senders are spread over them by the
kernel; ``--processes 1,2`` runs everything once per count, in one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/send_path.py [--processes 1,2] \\
        [--scenarios rest-100,ws-100,rest-500,ws-500,burst-100,cost] [--json]

It uses the database ``<DATABASE_URL name>_live`` and the Redis DB eight away from REDIS_URL's
(both wiped and migrated first).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
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
    prepare_database,
)

BODY_BYTES = 96
SOCKETS_PER_USER = 10


def body_for(n: int) -> str:
    """A 96-byte ciphertext whose first four bytes carry the message's number."""
    return base64.b64encode(struct.pack(">I", n) + os.urandom(BODY_BYTES - 4)).decode()


def number_of(encrypted_body: str) -> int:
    return int(struct.unpack(">I", base64.b64decode(encrypted_body[:8])[:4])[0])


# --- measuring CPU and memory ------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class CpuMeter:
    """CPU seconds of the servers, PostgreSQL's backends for one database, and Redis."""

    def __init__(self, server_pids: list[int], database_url: str, redis_url: str) -> None:
        import psycopg
        import redis

        self.server_pids = server_pids
        self.database = database_url.rsplit("/", 1)[1]
        self.admin = psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
        self.redis_pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])

    def backends(self) -> list[int]:
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database]
        ).fetchall()
        return [int(r[0]) for r in rows]

    def snapshot(self) -> dict[str, dict[int, float]]:
        def read(pids: list[int]) -> dict[int, float]:
            out = {}
            for pid in pids:
                with contextlib.suppress(OSError):
                    out[pid] = cpu_seconds(pid)
            return out

        return {
            "server": read(self.server_pids),
            "postgres": read(self.backends()),
            "redis": read([self.redis_pid]),
        }

    @staticmethod
    def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
        # A backend that appeared meanwhile counts from zero; one that ended is lost (rare: the
        # pool keeps its connections).
        return {
            kind: sum(v - before[kind].get(pid, 0.0) for pid, v in after[kind].items())
            for kind in after
        }


# --- receivers (child processes) ---------------------------------------------------------------


async def receiver_main() -> None:
    """Connect the sockets given on stdin, subscribe, then record NewMessage arrivals per
    message number between ``start`` and ``stop <count>`` commands."""
    import websockets

    config = json.loads(sys.stdin.readline())
    channel = config["channel"]
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    started = time.perf_counter()
    sockets: list[Any] = []
    failures: list[str] = []

    async def open_one(url: str) -> None:
        try:
            ws = await websockets.connect(url, compression=None, max_size=None, open_timeout=60)
            hello = json.loads(await ws.recv())
            assert hello["type"] == "Hello", hello
            await ws.send(json.dumps({"type": "Subscribe", "payload": {"channel_id": channel}}))
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "Subscribed":
                    break
                if frame["type"] == "Error":
                    raise RuntimeError(frame)
            sockets.append(ws)
        except Exception as error:  # reported, not raised: the storm's failures are a figure
            failures.append(repr(error)[:200])

    await asyncio.gather(*(open_one(url) for url in config["urls"]))
    connect_s = time.perf_counter() - started
    print(json.dumps({"ready": len(sockets), "failures": failures, "seconds": connect_s}))
    sys.stdout.flush()

    counts: dict[int, int] = {}
    last: dict[int, float] = {}
    got = 0
    recording = False
    changed = asyncio.Event()

    async def read(ws: Any) -> None:
        nonlocal got
        async for text in ws:
            if not recording or '"NewMessage"' not in text:
                continue
            now = time.time()
            n = number_of(json.loads(text)["payload"]["encrypted_body"])
            counts[n] = counts.get(n, 0) + 1
            last[n] = now
            got += 1
            changed.set()

    tasks = [asyncio.create_task(read(ws)) for ws in sockets]
    while line := (await reader.readline()).decode().strip():
        command, _, argument = line.partition(" ")
        if command == "start":
            counts.clear()
            last.clear()
            got = 0
            recording = True
            print(json.dumps({"started": True}))
        elif command == "stop":
            expected = int(argument) * len(sockets)
            deadline = time.monotonic() + 30
            while got < expected and time.monotonic() < deadline:
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 1)
            recording = False
            print(json.dumps({"counts": counts, "last": last, "sockets": len(sockets)}))
        elif command == "quit":
            break
        sys.stdout.flush()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


class Receivers:
    """K receiver sockets spread over ``workers`` child processes (one core's worth of
    frame parsing each)."""

    def __init__(self, urls: list[str], channel: str, workers: int) -> None:
        self.procs = []
        for index in range(workers):
            share = urls[index::workers]
            if not share:
                continue
            proc = subprocess.Popen(
                [sys.executable, __file__, "--receiver"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"urls": share, "channel": channel}) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)
        self.ready = [self._answer(p) for p in self.procs]
        self.count = sum(r["ready"] for r in self.ready)
        self.failures = [f for r in self.ready for f in r["failures"]]
        self.connect_seconds = max((r["seconds"] for r in self.ready), default=0.0)

    @staticmethod
    def _answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("a receiver process ended")
        return dict(json.loads(line))

    def _command(self, text: str) -> list[dict[str, Any]]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(text + "\n")
            proc.stdin.flush()
        return [self._answer(p) for p in self.procs]

    def start(self) -> None:
        self._command("start")

    def stop(self, count: int) -> tuple[dict[int, int], dict[int, float]]:
        counts: dict[int, int] = {}
        last: dict[int, float] = {}
        for answer in self._command(f"stop {count}"):
            for n, c in answer["counts"].items():
                counts[int(n)] = counts.get(int(n), 0) + c
            for n, t in answer["last"].items():
                last[int(n)] = max(last.get(int(n), 0.0), t)
        return counts, last

    def close(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- the cluster and its users -----------------------------------------------------------------


@dataclass
class Fixture:
    server: HavenProcess
    channel: str
    sender: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)  # receivers' users
    senders: list[dict[str, Any]] = field(default_factory=list)  # burst senders


def make_fixture(server: HavenProcess, receivers: int, senders: int) -> Fixture:
    run = uuid.uuid4().hex[:6]
    addresses = (f"198.51.{n // 250}.{n % 250 + 1}" for n in range(10_000))

    def register(name: str) -> dict[str, Any]:
        # Each sign-up from an address of its own, as the proxy on this host reports it: the
        # auth limit (10 a minute per address) applies whatever the rate-limit settings.
        return server.register(name, client_address=next(addresses))

    owner = register(f"own{run}")
    created = server.rest("POST", "/servers", owner["token"], {"encrypted_meta": "e30="})
    channel = created["system_channel_id"]
    code = server.rest("POST", f"/servers/{created['id']}/invites", owner["token"], {})["code"]
    users = (receivers + SOCKETS_PER_USER - 1) // SOCKETS_PER_USER
    members = [register(f"r{run}{i}") for i in range(users)]
    burst = [register(f"s{run}{i}") for i in range(senders)]
    sender = register(f"snd{run}")
    for user in [*members, *burst, sender]:
        server.rest("POST", f"/invites/{code}/join", user["token"])
    for n in range(60):  # a full history page for the cost scenario
        server.rest("POST", f"/channels/{channel}/messages", sender["token"], send_body(n))
    return Fixture(server, channel, sender, members, burst)


def send_body(n: int, channel: str | None = None) -> dict[str, Any]:
    return {
        "channel_id": channel or str(uuid.uuid4()),  # REST: ignored, the path wins
        "sender_token": base64.b64encode(os.urandom(32)).decode(),
        "encrypted_body": body_for(n),
        "has_attachments": False,
    }


def ws_send(n: int, channel: str) -> str:
    body = send_body(n, channel)
    del body["has_attachments"]
    return json.dumps({"type": "SendMessage", "payload": body})


# --- senders -----------------------------------------------------------------------------------


async def open_loop(
    mode: str, fixture: Fixture, first: int, count: int, rate: float
) -> dict[int, float]:
    """Send ``count`` messages numbered from ``first`` at ``rate`` per second, each on time."""
    import httpx
    import websockets

    sent: dict[int, float] = {}
    server = fixture.server
    errors: list[str] = []
    if mode == "rest":
        headers = {"Authorization": f"Bearer {fixture.sender['token']}"}
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, timeout=30, limits=limits
        ) as http:

            async def post(n: int) -> None:
                sent[n] = time.time()
                response = await http.post(
                    f"/api/v1/channels/{fixture.channel}/messages", json=send_body(n)
                )
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:100]}")

            tasks = []
            start = time.perf_counter()
            for index in range(count):
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(post(first + index)))
            await asyncio.gather(*tasks)
    else:
        async with websockets.connect(
            server.ws_url(fixture.sender["token"]), compression=None, max_size=None
        ) as ws:
            await ws.recv()  # Hello
            acks = 0
            answered = asyncio.Event()

            async def read_acks() -> None:
                nonlocal acks
                async for text in ws:
                    frame = json.loads(text)
                    if frame["type"] == "MessageAck":
                        acks += 1
                    elif frame["type"] == "Error":
                        errors.append(str(frame["payload"]))
                    if acks + len(errors) >= count:
                        answered.set()

            reader = asyncio.create_task(read_acks())
            start = time.perf_counter()
            for index in range(count):
                await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
                sent[first + index] = time.time()
                await ws.send(ws_send(first + index, fixture.channel))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), 30)
            reader.cancel()
    if errors:
        raise RuntimeError(f"{len(errors)} sends failed, e.g. {errors[0]}")
    return sent


async def closed_loop(fixture: Fixture, first: int, seconds: float) -> dict[int, float]:
    """Each burst sender sends its next message as soon as the previous one is acknowledged."""
    import websockets

    sent: dict[int, float] = {}
    counter = first
    deadline = time.monotonic() + seconds

    async def sender(user: dict[str, Any]) -> None:
        nonlocal counter
        async with websockets.connect(
            fixture.server.ws_url(user["token"]), compression=None, max_size=None
        ) as ws:
            await ws.recv()  # Hello
            while time.monotonic() < deadline:
                n = counter
                counter += 1
                sent[n] = time.time()
                await ws.send(ws_send(n, fixture.channel))
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "MessageAck":
                        break
                    if frame["type"] == "Error":
                        raise RuntimeError(frame)

    await asyncio.gather(*(sender(u) for u in fixture.senders))
    return sent


# --- scenarios ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    return values[max(0, int(len(values) * fraction + 0.5) - 1)]


def fan_out(args: argparse.Namespace, cluster: Cluster, mode: str, k: int) -> dict[str, Any]:
    fixture = cluster.fixture
    tokens = [fixture.members[i // SOCKETS_PER_USER]["token"] for i in range(k)]
    receivers = Receivers(
        [fixture.server.ws_url(t) for t in tokens], fixture.channel, args.receiver_processes
    )
    try:
        settled = cluster.settle()
        receivers.start()
        if mode == "burst":
            asyncio.run(closed_loop(fixture, 0, 1.0))  # warm-up
        else:
            asyncio.run(open_loop(mode, fixture, 0, args.warmup, args.rate))
        time.sleep(0.5)
        receivers.stop(0)
        receivers.start()
        before = cluster.meter.snapshot()
        began = time.perf_counter()
        if mode == "burst":
            sent = asyncio.run(closed_loop(fixture, 1_000_000, args.burst_seconds))
        else:
            sent = asyncio.run(open_loop(mode, fixture, 1_000_000, args.messages, args.rate))
        sending = time.perf_counter() - began
        counts, last = receivers.stop(len(sent))
        after = cluster.meter.snapshot()
    finally:
        receivers.close()
    cpu = CpuMeter.spent(before, after)
    latencies = sorted(
        (last[n] - t) * 1000 for n, t in sent.items() if counts.get(n) == receivers.count
    )
    delivered = sum(counts.get(n, 0) for n in sent)
    total_cpu = sum(cpu.values())
    return {
        "scenario": f"{mode}-{k}",
        "processes": args.processes,
        "receivers": receivers.count,
        "connect_s": round(receivers.connect_seconds, 1),
        "settle_s": round(settled, 1),
        "connect_failures": len(receivers.failures),
        "messages": len(sent),
        "sends_per_s": round(len(sent) / sending, 1),
        "complete": len(latencies),
        "delivered": delivered,
        "expected": len(sent) * receivers.count,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "server_cpu_s": round(cpu["server"], 2),
        "postgres_cpu_s": round(cpu["postgres"], 2),
        "redis_cpu_s": round(cpu["redis"], 2),
        "deliveries_per_cpu_s": round(delivered / max(total_cpu, 1e-9)),
        "rss_mib": [round(rss_mib(p)) for p in cluster.meter.server_pids],
    }


async def cost_route(route: str, fixture: Fixture, clients: int, count: int) -> None:
    import httpx
    import websockets

    counter = 0
    errors: list[str] = []

    async def rest_client() -> None:
        nonlocal counter
        headers = {"Authorization": f"Bearer {fixture.sender['token']}"}
        async with httpx.AsyncClient(
            base_url=fixture.server.url, headers=headers, timeout=30
        ) as http:
            while counter < count:
                counter += 1
                if route == "rest-send":
                    response = await http.post(
                        f"/api/v1/channels/{fixture.channel}/messages", json=send_body(counter)
                    )
                elif route == "history":
                    response = await http.get(
                        f"/api/v1/channels/{fixture.channel}/messages?limit=50"
                    )
                else:
                    response = await http.get("/api/v1/servers")
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:100]}")

    async def ws_client() -> None:
        nonlocal counter
        async with websockets.connect(
            fixture.server.ws_url(fixture.sender["token"]), compression=None
        ) as ws:
            await ws.recv()
            while counter < count:
                counter += 1
                await ws.send(ws_send(counter, fixture.channel))
                frame = json.loads(await ws.recv())
                if frame["type"] != "MessageAck":
                    errors.append(str(frame))

    client = ws_client if route == "ws-send" else rest_client
    await asyncio.gather(*(client() for _ in range(clients)))
    if errors:
        raise RuntimeError(f"{route}: {len(errors)} failed, e.g. {errors[0]}")


def cost(args: argparse.Namespace, cluster: Cluster) -> list[dict[str, Any]]:
    cluster.analyze()
    results = []
    for route in ("rest-send", "ws-send", "history", "servers"):
        asyncio.run(cost_route(route, cluster.fixture, 4, 50))  # warm-up
        before = cluster.meter.snapshot()
        began = time.perf_counter()
        asyncio.run(cost_route(route, cluster.fixture, 4, args.cost_requests))
        elapsed = time.perf_counter() - began
        cpu = CpuMeter.spent(before, cluster.meter.snapshot())
        n = args.cost_requests
        results.append(
            {
                "scenario": f"cost-{route}",
                "processes": args.processes,
                "requests": n,
                "requests_per_s": round(n / elapsed),
                "server_cpu_ms": round(cpu["server"] / n * 1000, 2),
                "postgres_cpu_ms": round(cpu["postgres"] / n * 1000, 2),
                "redis_cpu_ms": round(cpu["redis"] / n * 1000, 2),
            }
        )
    return results


def rate_limit_env(enabled: bool) -> dict[str, str]:
    """Rate limits on, as in production (each request and gateway operation counted in Redis),
    with limits above what the benchmark's few users send: one sender here stands for the many
    users of a busy channel."""
    if not enabled:
        return {"RATE_LIMITS_ENABLED": "false"}
    return {
        "RATE_LIMITS_ENABLED": "true",
        "MAX_REQUESTS_PER_MINUTE": "100000000",
        "WS_RATE_LIMIT_SEND": "100000000/10",
    }


class Cluster:
    def __init__(self, args: argparse.Namespace) -> None:
        database_url = live_database_url(os.environ["DATABASE_URL"])
        redis_url = live_redis_url(os.environ["REDIS_URL"])
        env = live_env(
            database_url,
            redis_url,
            LOG_LEVEL="WARNING",
            MAX_WS_CONNECTIONS_PER_USER="50",
            HAVEN_WORKERS=str(args.processes),
            **rate_limit_env(args.rate_limits),
        )
        prepare_database(env)
        self.server = live_process(env, "send-bench").start()
        assert self.server.process is not None
        pids = children_of(self.server.process.pid) or [self.server.process.pid]
        if args.processes > 1 and len(pids) != args.processes:
            raise RuntimeError(f"expected {args.processes} worker processes, found {pids}")
        self.rest_mib = [round(rss_mib(p)) for p in pids]
        receivers = max([0, *[int(s.split("-")[1]) for s in args.scenarios if "-" in s]])
        self.fixture = make_fixture(self.server, receivers, args.burst_senders)
        self.meter = CpuMeter(pids, database_url, redis_url)
        self.database_url = database_url

    def analyze(self) -> None:
        """Fresh planner statistics, as autovacuum keeps them on a live server: the scenarios
        before added thousands of messages to a database that was empty, and without them
        PostgreSQL plans the history page as for an empty table (a bitmap scan of every live
        message instead of the (channel, timestamp) index)."""
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")

    def settle(self, limit: float = 60.0) -> float:
        """Wait until the servers are idle (under 5 % of a core for half a second), so that
        what connecting cost is not measured as sending; how long that took."""
        started = time.perf_counter()
        while time.perf_counter() - started < limit:
            before = sum(cpu_seconds(p) for p in self.meter.server_pids)
            time.sleep(0.5)
            if sum(cpu_seconds(p) for p in self.meter.server_pids) - before < 0.025:
                break
        return time.perf_counter() - started

    def stop(self) -> None:
        self.server.stop()


# --- output ------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| path | processes | receivers | sends/s | p50 | p99 to the last receiver | max "
        "| deliveries per CPU-second (server+PG+Redis) | server CPU per send | server RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cost_lines = [
        "| request | processes | requests/s (4 clients) | server CPU | PostgreSQL CPU "
        "| Redis CPU |",
        "|---|---|---|---|---|---|",
    ]
    names = {"rest": "REST send", "ws": "WS SendMessage", "burst": "WS burst (closed loop)"}
    for r in results:
        if r["scenario"].startswith("cost-"):
            cost_lines.append(
                f"| {r['scenario'][5:]} | {r['processes']} | {r['requests_per_s']} "
                f"| {r['server_cpu_ms']} ms | {r['postgres_cpu_ms']} ms "
                f"| {r['redis_cpu_ms']} ms |"
            )
            continue
        mode = r["scenario"].split("-")[0]
        incomplete = (
            ""
            if r["delivered"] == r["expected"]
            else f" ({r['delivered']} of {r['expected']} delivered)"
        )
        lines.append(
            f"| {names[mode]} | {r['processes']} | {r['receivers']} | {r['sends_per_s']} "
            f"| {r['p50_ms']} ms | {r['p99_ms']} ms{incomplete} | {r['max_ms']} ms "
            f"| {r['deliveries_per_cpu_s']:,} "
            f"| {r['server_cpu_s'] / max(r['messages'], 1) * 1000:.1f} ms "
            f"| {'/'.join(str(m) for m in r['rss_mib'])} MiB |"
        )
    out = []
    if len(lines) > 2:
        out.append("\n".join(lines))
    if len(cost_lines) > 2:
        out.append("\n".join(cost_lines))
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="1", help="comma-separated: one run per count")
    parser.add_argument("--scenarios", default="rest-100,ws-100,rest-500,ws-500,burst-100,cost")
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--burst-senders", type=int, default=10)
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument("--cost-requests", type=int, default=400)
    parser.add_argument("--receiver-processes", type=int, default=2)
    parser.add_argument(
        "--no-rate-limits",
        dest="rate_limits",
        action="store_false",
        help="run without rate limits (production counts every request and operation in Redis)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per scenario too")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(receiver_main())
        return
    args.scenarios = args.scenarios.split(",")
    results: list[dict[str, Any]] = []
    for count in [int(p) for p in str(args.processes).split(",")]:
        args.processes = count
        cluster = Cluster(args)
        try:
            print(
                f"{count} process(es): server RSS at rest (migrated, no users): "
                f"{cluster.rest_mib} MiB",
                flush=True,
            )
            for scenario in args.scenarios:
                if scenario == "cost":
                    found = cost(args, cluster)
                else:
                    mode, _, k = scenario.partition("-")
                    found = [fan_out(args, cluster, mode, int(k))]
                for result in found:
                    if args.json:
                        print(json.dumps(result), flush=True)
                results += found
        finally:
            cluster.stop()
    print(table(sorted(results, key=lambda r: r["scenario"].startswith("cost-"))))


if __name__ == "__main__":
    main()
