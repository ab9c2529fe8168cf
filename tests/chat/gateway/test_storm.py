"""A reconnect storm breaks nothing (docs/performance.md): after a restart every client connects
again at once. One real server process with deliberately tiny pools (4 Redis connections per
pool, 2 PostgreSQL connections) takes 400 sockets connecting and subscribing at the same moment,
plus a burst of REST requests: the pools make callers wait instead of failing (redis-py's
default pool raised ``Too many connections`` past 100), every socket is subscribed, and nothing
is logged as an error, including the sends that cross sockets closing under them."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.processes import (
    HavenProcess,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    prepare_database,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

SOCKETS = 400
PER_USER = 50


@pytest.fixture(scope="module")
def server() -> Iterator[HavenProcess]:
    env = live_env(
        live_database_url(os.environ["DATABASE_URL"]),
        live_redis_url(os.environ["REDIS_URL"]),
        REDIS_MAX_CONNECTIONS="4",
        DB_MAX_CONNECTIONS="2",
        MAX_WS_CONNECTIONS_PER_USER=str(PER_USER),
        HAVEN_WORKERS="1",
    )
    prepare_database(env)
    process = live_process(env, "storm").start()
    try:
        yield process
    finally:
        process.stop()


async def connect_and_subscribe(server: HavenProcess, token: str, channel: str) -> Any:
    ws = await websockets.connect(server.ws_url(token), open_timeout=60, max_size=None)
    assert json.loads(await ws.recv())["type"] == "Hello"
    await ws.send(json.dumps({"type": "Subscribe", "payload": {"channel_id": channel}}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "Subscribed":
            return ws
        assert frame["type"] != "Error", frame


def test_a_storm_of_connects_waits_for_the_pools(server: HavenProcess) -> None:
    owner = server.register(f"o{uuid.uuid4().hex[:10]}")
    created = server.rest("POST", "/servers", owner["token"], {"encrypted_meta": "e30="})
    channel = created["system_channel_id"]
    code = server.rest("POST", f"/servers/{created['id']}/invites", owner["token"], {})["code"]
    users = [server.register(f"s{uuid.uuid4().hex[:10]}") for _ in range(SOCKETS // PER_USER)]
    for user in users:
        server.rest("POST", f"/invites/{code}/join", user["token"])
    log_start = len(server.log_text())
    tokens = [users[i // PER_USER]["token"] for i in range(SOCKETS)]

    async def storm() -> None:
        async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=60) as http:
            rest = [
                http.get("/servers", headers={"Authorization": f"Bearer {t}"})
                for t in tokens[:: PER_USER // 5]
            ]
            results = await asyncio.gather(
                *(connect_and_subscribe(server, t, channel) for t in tokens), *rest
            )
        sockets = results[:SOCKETS]
        assert all(r.status_code == 200 for r in results[SOCKETS:])
        body = {
            "channel_id": channel,
            "sender_token": base64.b64encode(b"t").decode(),
            "encrypted_body": base64.b64encode(os.urandom(64)).decode(),
        }
        # Messages flow while half of the sockets go away under them.
        await sockets[0].send(json.dumps({"type": "SendMessage", "payload": body}))
        await asyncio.gather(*(ws.close() for ws in sockets[SOCKETS // 2 :]))
        await sockets[0].send(json.dumps({"type": "SendMessage", "payload": body}))
        for ws in sockets[: SOCKETS // 2 : 20]:
            seen = 0
            while seen < 2:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                seen += frame["type"] == "NewMessage"
        await asyncio.gather(*(ws.close() for ws in sockets[: SOCKETS // 2]))

    asyncio.run(storm())
    log = server.log_text()[log_start:]
    for bad in ("Traceback", "ERROR", "Too many connections", "Gateway delivery failed"):
        assert bad not in log, log[-5000:]
