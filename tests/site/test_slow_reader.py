"""The outbound overflow guard of a real ``python -m haven_site.serve``
(haven_site.server.websocket; docs/realtime.md, "Slow consumers"): a socket whose peer stops
reading is dropped once 4 MiB wait in the server's write buffer, its session cannot be resumed,
and the readers of the same busy channel, and the server, carry on.

The stalled client is a plain socket with a 4 KiB receive buffer that is never read (the
``websockets`` sans-I/O protocol frames its handshake and Subscribe). Messages of 64 KiB are
published over REST until the server drops it; after each batch the test waits until a reading
subscriber has them all, so nothing depends on timing but the TCP reset reaching the client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from haven_site.server.websocket import OUTBOUND_LIMIT_BYTES
from tests.processes import HavenProcess, embedded_env

pytestmark = pytest.mark.slow

BODY = base64.b64encode(os.urandom(64_000)).decode()  # a NewMessage frame of about 85 KiB
BATCH = 8
# The guard's 4 MiB and whatever the kernel buffers hold, many times over: a cap, not a plan.
MAX_MESSAGES = 4 * OUTBOUND_LIMIT_BYTES // len(BODY)
TCP_CLOSE = 7  # tcpi_state after a reset


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    var_dir = tmp_path_factory.mktemp("haven-slow-reader")
    process = HavenProcess(var_dir, base=embedded_env(var_dir))
    process.manage("migrate", "--noinput", "-v", "0")
    yield process.start()
    process.stop()


class StalledClient:
    """A WebSocket client that reads only what the test asks for, on a small receive buffer."""

    def __init__(self, server: HavenProcess, token: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", server.port))
        self.protocol = ClientProtocol(parse_uri(server.ws_url(token)), max_size=None)
        self.protocol.send_request(self.protocol.connect())
        self.frames: list[Frame] = []
        self.flush()

    def flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.sock.sendall(data)

    def receive(self) -> None:
        """One read from the socket; raises ConnectionResetError after the server's reset."""
        data = self.sock.recv(65536)
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
        self.frames += [e for e in self.protocol.events_received() if isinstance(e, Frame)]
        self.flush()

    def expect(self, kind: str) -> dict[str, Any]:
        while True:
            while self.frames:
                frame = self.frames.pop(0)
                if frame.opcode is Opcode.TEXT:
                    message: dict[str, Any] = json.loads(bytes(frame.data))
                    if message["type"] == kind:
                        return message
            self.receive()

    def send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self.flush()

    def reset_by_server(self) -> bool:
        info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)
        return struct.unpack("B", info)[0] == TCP_CLOSE

    def read_to_the_end(self) -> str:
        """What ended the stream: "reset" (the guard's abort), "eof" or "close frame"."""
        try:
            while True:
                self.receive()
                if any(frame.opcode is Opcode.CLOSE for frame in self.frames):
                    return "close frame"
                self.frames.clear()
                if self.protocol.state.name == "CLOSED":
                    return "eof"
        except ConnectionResetError:
            return "reset"


class Reader:
    """A subscriber that reads everything as it comes (``websockets`` in a task)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for text in self.ws:
            self.frames.append(json.loads(text))

    def count(self, kind: str, **payload: Any) -> int:
        return sum(
            1
            for f in self.frames
            if f["type"] == kind and all(f["payload"].get(k) == v for k, v in payload.items())
        )

    async def until(self, kind: str, count: int, wait: float = 10, **payload: Any) -> None:
        deadline = time.monotonic() + wait
        while self.count(kind, **payload) < count:
            assert time.monotonic() < deadline, f"{kind} x{count} not received: {self.frames[-3:]}"
            await asyncio.sleep(0.01)


@pytest.fixture
async def rest(server: HavenProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{server.url}/api/v1", timeout=10) as client:
        yield client


async def call(rest: httpx.AsyncClient, method: str, path: str, token: str, body: Any) -> Any:
    response = await rest.request(
        method, path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def open_reader(server: HavenProcess, token: str, channel: str) -> Reader:
    ws = await websockets.connect(server.ws_url(token), compression=None, max_size=None)
    reader = Reader(ws)
    await reader.until("Hello", 1)
    await ws.send(json.dumps({"type": "Subscribe", "payload": {"channel_id": channel}}))
    await reader.until("Subscribed", 1)
    return reader


async def test_a_reader_that_stops_is_dropped_and_the_rest_carry_on(
    server: HavenProcess, rest: httpx.AsyncClient
) -> None:
    sender, reader_user, stalled_user = (server.register(name) for name in ("ann", "bob", "cyd"))
    meta = base64.b64encode(b"meta").decode()
    created = await call(rest, "POST", "/servers", sender["token"], {"encrypted_meta": meta})
    channel = created["system_channel_id"]
    invite = await call(rest, "POST", f"/servers/{created['id']}/invites", sender["token"], {})
    for user in (reader_user, stalled_user):
        await call(rest, "POST", f"/invites/{invite['code']}/join", user["token"], None)

    stalled = StalledClient(server, stalled_user["token"])
    session_id = stalled.expect("Hello")["payload"]["session_id"]
    stalled.send({"type": "Subscribe", "payload": {"channel_id": channel}})
    stalled.expect("Subscribed")
    reader = await open_reader(server, reader_user["token"], channel)

    async def publish(count: int) -> None:
        body = {"sender_token": "dA==", "encrypted_body": BODY, "has_attachments": False}
        path = f"/channels/{channel}/messages"
        for _ in range(count):
            await call(rest, "POST", path, sender["token"], {"channel_id": channel, **body})

    # The stalled client reads nothing from here on.
    sent = 0
    while not stalled.reset_by_server():
        assert sent < MAX_MESSAGES, f"not dropped after {sent} messages of {len(BODY)} bytes"
        await publish(BATCH)
        sent += BATCH
        await reader.until("NewMessage", sent)  # the fan-out of every message so far is done
        for _ in range(20):  # the reset, if the last batch overflowed, is on its way
            if stalled.reset_by_server():
                break
            await asyncio.sleep(0.01)
    assert sent * len(BODY) > OUTBOUND_LIMIT_BYTES

    # The guard's abort, not a close: the stream ends in a reset, without a close frame.
    assert stalled.read_to_the_end() == "reset"
    # The application was told (haven.overflow): the session is deleted, not kept with a hole.
    # Its last connection gone, the user goes offline for the others once that is done.
    await reader.until("PresenceUpdate", 1, user_id=stalled_user["id"], status="offline")
    again = await websockets.connect(server.ws_url(stalled_user["token"]), compression=None)
    await again.recv()  # Hello
    await again.send(json.dumps({"type": "Resume", "payload": {"session_id": session_id}}))
    assert json.loads(await asyncio.wait_for(again.recv(), 10)) == {"type": "InvalidSession"}
    await again.close()

    # The reader got every message, in order, and keeps receiving; the server is healthy.
    await publish(1)
    await reader.until("NewMessage", sent + 1)
    assert reader.count("NewMessage", channel_id=channel) == sent + 1
    ready = await rest.get(f"{server.url}/health/ready")
    assert ready.status_code == 200, ready.text
    assert server.process is not None
    assert server.process.poll() is None  # still serving
    await reader.ws.close()
    stalled.sock.close()
