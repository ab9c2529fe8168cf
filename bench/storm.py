"""Reconnect storm and idle sockets (a script, not a test): docs/performance.md has the figures.

One real server process (``HAVEN_WORKERS=1``) against the machine's PostgreSQL and Redis.

* ``storm``: ``--storm`` sockets (``--per-user`` per user) connect, authenticate and subscribe to
  one channel *at the same moment*, as after a restart; reported: the time until every socket
  has its ``Subscribed``, connects per second, sockets that failed, and the error lines the
  server logged meanwhile (tracebacks, ``ERROR``, ``Too many connections``).
* ``idle``: ``--idle`` authenticated sockets (each subscribed to the channel) stay open; reported:
  the server's RSS before and after, per socket, once the process is quiet.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/haven_bench \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/storm.py [--storm 2000] [--idle 5000] [--per-user 50]

The clients run in ``--client-processes`` processes (default 2) so that the client side is not
what is measured. It uses the database ``<DATABASE_URL name>_live`` and the Redis DB eight away
from REDIS_URL's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

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

ERRORS = ("Traceback", " ERROR ", '"level": "ERROR"', "Too many connections")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- client processes ----------------------------------------------------------------------


async def client_main() -> None:
    """Open the sockets given on stdin all at once (each: Hello, Subscribe, Subscribed), report,
    then hold them open until stdin closes."""
    import websockets

    config = json.loads(sys.stdin.readline())
    go = float(config["at"])
    await asyncio.sleep(max(0.0, go - time.time()))
    sockets: list[Any] = []
    failures: list[str] = []
    done_at: list[float] = []

    async def one(url: str) -> None:
        try:
            ws = await websockets.connect(url, compression=None, open_timeout=120, max_size=None)
            assert json.loads(await ws.recv())["type"] == "Hello"
            payload = {"channel_id": config["channel"]}
            await ws.send(json.dumps({"type": "Subscribe", "payload": payload}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
                if frame["type"] == "Subscribed":
                    break
                if frame["type"] == "Error":
                    raise RuntimeError(frame["payload"]["message"])
            sockets.append(ws)
            done_at.append(time.time())
        except Exception as error:
            failures.append(repr(error)[:160])

    await asyncio.gather(*(one(u) for u in config["urls"]))
    print(json.dumps({"ok": len(sockets), "failures": failures, "last": max(done_at, default=go)}))
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


class Clients:
    def __init__(self, urls: list[str], channel: str, processes: int) -> None:
        start = time.time() + 2.0  # every process starts connecting at this moment
        self.started = start
        self.procs = []
        for index in range(processes):
            proc = subprocess.Popen(
                [sys.executable, __file__, "--client"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            assert proc.stdin is not None
            share = urls[index::processes]
            proc.stdin.write(json.dumps({"urls": share, "channel": channel, "at": start}) + "\n")
            proc.stdin.flush()
            self.procs.append(proc)

    def results(self) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            assert proc.stdout is not None
            out.append(json.loads(proc.stdout.readline()))
        return out

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- the runs ----------------------------------------------------------------------------


def profile(pid: int) -> subprocess.Popen[bytes] | None:
    """``BENCH_PYSPY=/path/to/py-spy``: record the storm's server profile (flat, raw) to
    ``storm.pyspy.txt`` in the current directory."""
    spy = os.environ.get("BENCH_PYSPY")
    if not spy:
        return None
    command = [spy, "record", "-p", str(pid), "-r", "200", "-f", "raw", "-o", "storm.pyspy.txt"]
    process = subprocess.Popen([*command, "--nonblocking", "-t", "--gil"])
    time.sleep(1)
    return process


def quiet(pid: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < 0.03:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storm", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--per-user", type=int, default=50)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main())
        return

    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]),
        live_redis_url(os.environ["REDIS_URL"]),
        HAVEN_WORKERS="1",
        MAX_WS_CONNECTIONS_PER_USER=str(args.per_user),
    )
    prepare_database(env)
    server = live_process(env, "storm-bench").start()
    assert server.process is not None
    pid = server.process.pid
    try:
        owner = server.register(f"o{uuid.uuid4().hex[:10]}")
        created = server.rest("POST", "/servers", owner["token"], {"encrypted_meta": "e30="})
        channel = created["system_channel_id"]
        code = server.rest("POST", f"/servers/{created['id']}/invites", owner["token"], {})["code"]
        most = max(args.storm, args.idle)
        users = [
            server.register(f"u{uuid.uuid4().hex[:10]}") for _ in range(-(-most // args.per_user))
        ]
        for user in users:
            server.rest("POST", f"/invites/{code}/join", user["token"])
        tokens = [users[i // args.per_user]["token"] for i in range(most)]
        quiet(pid)
        rest_kib = rss_kib(pid)
        print(f"server RSS before any socket: {rest_kib / 1024:.0f} MiB", flush=True)

        spy = profile(pid)
        if args.storm:
            log_start = len(server.log_text())
            cpu = cpu_seconds(pid)
            clients = Clients(
                [server.ws_url(t) for t in tokens[: args.storm]], channel, args.client_processes
            )
            results = clients.results()
            elapsed = max(r["last"] for r in results) - clients.started
            ok = sum(r["ok"] for r in results)
            failures = [f for r in results for f in r["failures"]]
            cpu = cpu_seconds(pid) - cpu
            errors = [
                line
                for line in server.log_text()[log_start:].splitlines()
                if any(e in line for e in ERRORS)
            ]
            print(
                f"storm: {ok} of {args.storm} sockets subscribed in {elapsed:.1f} s "
                f"({ok / elapsed:.0f} connects/s), {len(failures)} failed, "
                f"{len(errors)} error lines logged, server CPU {cpu:.1f} s",
                flush=True,
            )
            for line in failures[:3] + errors[:5]:
                print("   ", line[:300])
            clients.close()
            if spy is not None:
                spy.send_signal(2)
                spy.wait()
            quiet(pid)

        if args.idle:
            before = rss_kib(pid)
            clients = Clients(
                [server.ws_url(t) for t in tokens[: args.idle]], channel, args.client_processes
            )
            results = clients.results()
            ok = sum(r["ok"] for r in results)
            quiet(pid)
            after = rss_kib(pid)
            cpu = cpu_seconds(pid)
            time.sleep(10)
            idle_cpu = (cpu_seconds(pid) - cpu) / 10
            print(
                f"idle: {ok} sockets, server RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB, "
                f"{(after - before) / max(ok, 1):.1f} KiB per socket, "
                f"{idle_cpu * 100:.1f} % of a core while idle",
                flush=True,
            )
            clients.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
