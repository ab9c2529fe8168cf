"""HAVEN_WORKERS: several server processes behind one port (haven_site.server.workers).

One real supervisor with two workers on PostgreSQL and Redis: HTTP requests and WebSockets are
spread over both (each worker's own metrics exporter counts them), a resumed session continues
on whichever worker the new connection lands, a worker that dies is started again, and SIGTERM
drains both (their WebSockets close with 1001 to resume elsewhere) before the supervisor exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.processes import (
    HavenProcess,
    free_port_run,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    prepare_database,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def workers_of(process: HavenProcess) -> list[int]:
    assert process.process is not None
    pid = process.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


def metric(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[HavenProcess, int]]:
    metrics = free_port_run(2)  # one metrics exporter per worker, on consecutive ports
    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]),
        live_redis_url(os.environ["REDIS_URL"]),
        HAVEN_WORKERS="2",
        METRICS_PORT=str(metrics),
    )
    prepare_database(env)
    process = live_process(env, "workers").start()
    try:
        deadline = time.monotonic() + 30
        while len(workers_of(process)) < 2 or not all(_up(metrics + i) for i in range(2)):
            assert time.monotonic() < deadline, process.log_text()[-3000:]
            time.sleep(0.2)
        yield process, metrics
    finally:
        process.stop()


def _up(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_http_and_websockets_are_spread_over_the_workers(
    cluster: tuple[HavenProcess, int],
) -> None:
    process, metrics = cluster
    assert len(workers_of(process)) == 2
    user = process.register(f"w{uuid.uuid4().hex[:10]}")
    for _ in range(40):  # a new connection each: the kernel picks a worker per connection
        with httpx.Client() as http:
            headers = {"Authorization": f"Bearer {user['token']}"}
            assert http.get(f"{process.url}/api/v1/servers", headers=headers).status_code == 200
    requests = [metric(metrics + i, "django_http_requests_total_by_method_total") for i in (0, 1)]
    assert all(n > 0 for n in requests), requests

    async def sockets() -> list[float]:
        opened = [await websockets.connect(process.ws_url(user["token"])) for _ in range(20)]
        for ws in opened:
            assert json.loads(await ws.recv())["type"] == "Hello"
        counts = [metric(metrics + i, "haven_ws_open_sockets") for i in (0, 1)]
        for ws in opened:
            await ws.close()
        return counts

    open_sockets = asyncio.run(sockets())
    assert sum(open_sockets) == 20
    assert all(n > 0 for n in open_sockets), open_sockets


def test_a_session_resumes_on_any_worker(cluster: tuple[HavenProcess, int]) -> None:
    process, metrics = cluster
    user = process.register(f"r{uuid.uuid4().hex[:10]}")
    before = sum(metric(metrics + i, "haven_ws_replay_outcomes_total") for i in (0, 1))

    async def resume_repeatedly() -> None:
        ws = await websockets.connect(process.ws_url(user["token"]))
        session = json.loads(await ws.recv())["payload"]["session_id"]
        for _ in range(6):
            await ws.close()
            ws = await websockets.connect(process.ws_url(user["token"]))
            await ws.recv()  # Hello (a new session, replaced by the resumed one)
            await ws.send(json.dumps({"type": "Resume", "payload": {"session_id": session}}))
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert frame["type"] == "Resumed", frame
        await ws.close()

    asyncio.run(resume_repeatedly())
    after = {
        i: metric(metrics + i, 'haven_ws_replay_outcomes_total{outcome="resumed"}') for i in (0, 1)
    }
    assert sum(metric(metrics + i, "haven_ws_replay_outcomes_total") for i in (0, 1)) == before + 6
    assert sum(after.values()) >= 6


def test_a_dead_worker_is_started_again(cluster: tuple[HavenProcess, int]) -> None:
    process, _ = cluster
    first, second = workers_of(process)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        now = workers_of(process)
        if len(now) == 2 and first not in now:
            break
        assert time.monotonic() < deadline, process.log_text()[-3000:]
        time.sleep(0.2)
    assert second in now
    for _ in range(10):
        assert httpx.get(f"{process.url}/health", timeout=10).status_code == 200
    assert "Worker 0 exited" in process.log_text() or "Worker 1 exited" in process.log_text()


def test_sigterm_drains_every_worker(tmp_path: Path) -> None:
    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]),
        live_redis_url(os.environ["REDIS_URL"]),
        HAVEN_WORKERS="2",
    )
    process = live_process(env, "drain").start()
    user = process.register(f"d{uuid.uuid4().hex[:10]}")

    async def drain() -> list[int | None]:
        opened = [await websockets.connect(process.ws_url(user["token"])) for _ in range(10)]
        for ws in opened:
            await ws.recv()
        assert process.process is not None
        process.process.send_signal(signal.SIGTERM)
        for ws in opened:
            await asyncio.wait_for(ws.wait_closed(), 20)
        return [ws.close_code for ws in opened]

    assert asyncio.run(drain()) == [1001] * 10
    assert process.stop() == 0
    assert "Traceback" not in process.log_text()
