"""Process-level gateway tests: real Daphne processes (``python -m haven_site.serve``) sharing
PostgreSQL and Redis, driven by the ``websockets`` client (docs/realtime.md).

Events are published from a third process with ``manage.py gateway_publish`` (through
chat.events, exactly like a REST action after commit)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from tests.chat.gateway.live import (
    Server,
    live_database_url,
    live_env,
    live_redis_url,
    manage,
    prepare_database,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class Cluster:
    def __init__(self) -> None:
        self.env = live_env(
            live_database_url(os.environ["DATABASE_URL"]),
            live_redis_url(os.environ["REDIS_URL"]),
        )
        prepare_database(self.env)
        self.a = Server(self.env, "a").start()
        self.b = Server(self.env, "b").start()

    async def publish(self, *args: str) -> None:
        await asyncio.to_thread(manage, self.env, "gateway_publish", *args)

    def user(self) -> dict[str, Any]:
        return self.a.register(f"u{uuid.uuid4().hex[:12]}")

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        yield running
    finally:
        running.stop()


class Client:
    def __init__(self, ws: Any, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.session_id = hello["payload"]["session_id"]

    @classmethod
    async def open(cls, server: Server, token: str) -> Client:
        ws = await websockets.connect(server.ws_url(token), compression=None, max_size=None)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "Hello", hello
        return cls(ws, hello)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), wait))  # type: ignore[no-any-return]

    async def expect(self, event_type: str, wait: float = 10) -> dict[str, Any]:
        """The next frame of this type, skipping presence updates of other users."""
        while True:
            frame = await self.recv(wait)
            if frame["type"] == event_type:
                return frame
            assert frame["type"] == "PresenceUpdate", frame

    async def frames(self, quiet: float = 1.0) -> list[dict[str, Any]]:
        """Everything that arrives until nothing has for ``quiet`` seconds."""
        out = []
        while True:
            try:
                out.append(await self.recv(quiet))
            except TimeoutError:
                return out

    async def subscribe(self, channel_id: str) -> None:
        await self.send({"type": "Subscribe", "payload": {"channel_id": channel_id}})
        assert (await self.expect("Subscribed"))["payload"] == {"channel_id": channel_id}

    async def closed_code(self, wait: float = 15) -> int | None:
        await asyncio.wait_for(self.ws.wait_closed(), wait)
        return self.ws.close_code  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()


def _numbers(frames: list[dict[str, Any]], tag: str) -> list[int]:
    return [
        f["payload"]["n"]
        for f in frames
        if f["type"] == "ReadStateUpdated" and f["payload"].get("tag") == tag
    ]


async def test_two_instances_deliver_every_event_once(cluster: Cluster) -> None:
    alice, bob = cluster.user(), cluster.b.register(f"u{uuid.uuid4().hex[:12]}")
    ids = manage(cluster.env, "gateway_publish", "--fixture", alice["id"], "--member", bob["id"])
    channel, server = ids["channel_id"], ids["server_id"]
    alice_a = await Client.open(cluster.a, alice["token"])
    bob_b = await Client.open(cluster.b, bob["token"])
    bob_a = await Client.open(cluster.a, bob["token"])
    for client in (alice_a, bob_b, bob_a):
        await client.subscribe(channel)
    # One event addressed to the channel, its server and bob: one copy per connection.
    args = ["--channel", channel, "--server", server, "--user", bob["id"], "--tag", "t1"]
    await cluster.publish(*args, "--count", "5")
    for client in (alice_a, bob_b, bob_a):
        frames = await client.frames()
        assert _numbers(frames, "t1") == [0, 1, 2, 3, 4]
    # Sent through instance A, seen on B once.
    await alice_a.send({"type": "Typing", "payload": {"channel_id": channel}})
    for client in (alice_a, bob_b, bob_a):
        typing = [f for f in await client.frames() if f["type"] == "UserTyping"]
        assert len(typing) == 1
        assert typing[0]["payload"]["user_id"] == alice["id"]
    for client in (alice_a, bob_b, bob_a):
        await client.close()


async def _resume_after_restart(cluster: Cluster, *, resume_on_other: bool) -> None:
    user = cluster.user()
    client = await Client.open(cluster.a, user["token"])
    await cluster.publish("--user", user["id"], "--count", "3", "--tag", "before")
    assert _numbers(await client.frames(), "before") == [0, 1, 2]
    await asyncio.to_thread(cluster.a.stop)  # SIGTERM: save, close 1001, exit
    assert await client.closed_code() == 1001
    await cluster.publish("--user", user["id"], "--count", "4", "--tag", "gap")
    await asyncio.to_thread(cluster.a.start)
    target = cluster.b if resume_on_other else cluster.a
    again = await Client.open(target, user["token"])
    await again.send({"type": "Resume", "payload": {"session_id": client.session_id}})
    frames = []
    while True:
        frame = await again.recv()
        frames.append(frame)
        if frame["type"] in ("Resumed", "InvalidSession"):
            break
    assert _numbers(frames, "gap") == [0, 1, 2, 3]
    assert _numbers(frames, "before") == []
    assert frames[-1] == {"type": "Resumed", "payload": {"replayed_count": 4}}
    # And live delivery carries on.
    await cluster.publish("--user", user["id"], "--count", "1", "--tag", "after")
    assert _numbers(await again.frames(), "after") == [0]
    await again.close()


async def test_resume_after_a_graceful_restart(cluster: Cluster) -> None:
    await _resume_after_restart(cluster, resume_on_other=False)


async def test_resume_on_the_other_instance_after_a_restart(cluster: Cluster) -> None:
    await _resume_after_restart(cluster, resume_on_other=True)


async def test_presence_goes_offline_when_the_last_connection_anywhere_closes(
    cluster: Cluster,
) -> None:
    alice, bob = cluster.user(), cluster.user()
    ids = manage(cluster.env, "gateway_publish", "--fixture", alice["id"], "--member", bob["id"])
    watcher = await Client.open(cluster.b, bob["token"])
    await watcher.subscribe(ids["channel_id"])
    on_a = await Client.open(cluster.a, alice["token"])
    on_b = await Client.open(cluster.b, alice["token"])
    updates = [f["payload"] for f in await watcher.frames() if f["type"] == "PresenceUpdate"]
    assert updates == [{"user_id": alice["id"], "status": "online"}] * 2
    await on_a.close()
    assert [f for f in await watcher.frames() if f["type"] == "PresenceUpdate"] == []
    await on_b.close()
    offline = await watcher.expect("PresenceUpdate")
    assert offline["payload"] == {"user_id": alice["id"], "status": "offline"}
    await watcher.close()


def _raw_handshake(server: Server, path: str, extra: str = "") -> tuple[str, bytes]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            sock.settimeout(1)
            try:
                while chunk := sock.recv(4096):
                    body += chunk
            except TimeoutError:
                pass
        return head.decode("latin-1"), body


async def test_handshake_refusals_and_no_compression(cluster: Cluster) -> None:
    user = cluster.user()
    head, body = _raw_handshake(cluster.a, "/api/v1/ws")
    assert head.startswith("HTTP/1.1 400")
    assert b"missing field `token`" in body
    head, body = _raw_handshake(cluster.a, "/api/v1/ws?token=nope")
    assert head.startswith("HTTP/1.1 401")
    assert json.loads(body) == {"error": "Invalid token", "status": 401}
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    head, _ = _raw_handshake(cluster.a, f"/api/v1/ws?token={user['token']}", offer)
    assert head.startswith("HTTP/1.1 101")
    assert "sec-websocket-extensions" not in head.lower()
    # Messages above 1 MiB are refused with 1009; 64 KiB are fine.
    client = await Client.open(cluster.a, user["token"])
    await client.ws.send('{"type":"Ping","pad":"' + "x" * 65_536 + '"}')
    assert (await client.expect("Pong"))["type"] == "Pong"
    await client.ws.send("x" * (1024 * 1024 + 10))
    assert await client.closed_code() == 1009


async def test_kill_9_gives_a_complete_replay_or_invalid_session(cluster: Cluster) -> None:
    user = cluster.user()
    client = await Client.open(cluster.a, user["token"])
    await cluster.publish("--user", user["id"], "--count", "3", "--tag", "before")
    seen = _numbers(await client.frames(), "before")
    assert seen == [0, 1, 2]
    await asyncio.sleep(1.5)  # let a checkpoint pass
    await asyncio.to_thread(cluster.a.kill)
    await cluster.publish("--user", user["id"], "--count", "4", "--tag", "gap")
    try:
        again = await Client.open(cluster.b, user["token"])
        await again.send({"type": "Resume", "payload": {"session_id": client.session_id}})
        frames = []
        while True:
            frame = await again.recv()
            frames.append(frame)
            if frame["type"] in ("Resumed", "InvalidSession"):
                break
        if frames[-1]["type"] == "Resumed":
            assert _numbers(frames, "gap") == [0, 1, 2, 3]  # complete, in order
            repeated = _numbers(frames, "before")
            assert repeated == sorted(set(repeated))  # at most repeats, each once
            assert frames[-1]["payload"]["replayed_count"] == len(frames) - 1
        else:
            assert frames == [{"type": "InvalidSession"}]
        await again.close()
    finally:
        await asyncio.to_thread(cluster.a.start)
