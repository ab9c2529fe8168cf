"""Gateway test helpers: a WebSocket client over channels' communicator, users and a server."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels.testing import WebsocketCommunicator

from chat.gateway import timers
from chat.gateway.consumer import GatewayConsumer
from realtime.registry import memory_registry
from realtime.store import memory_store
from tests.helpers import Api, TestUser


@pytest.fixture(autouse=True)
def _fresh_gateway() -> None:
    memory_store().reset()
    memory_registry().reset()
    timers._last_sweep = 0.0
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        async_to_sync(layer.flush)()


class Ws:
    """One WebSocket connection to the gateway consumer (no Daphne)."""

    def __init__(self, token: str | None, *, query: str | None = None, denial: bool = True):
        query = query if query is not None else f"token={token}"
        self.comm = WebsocketCommunicator(GatewayConsumer.as_asgi(), f"/api/v1/ws?{query}")
        self.comm.scope["client"] = ("127.0.0.1", 40000)
        if denial:
            self.comm.scope["extensions"] = {"websocket.http.response": {}}
        self.hello: dict[str, Any] = {}

    async def open(self) -> dict[str, Any]:
        """Connect, expect acceptance, and return the Hello frame (the first frame)."""
        await self.comm.send_input({"type": "websocket.connect"})
        accepted = await self.comm.receive_output(3)
        assert accepted["type"] == "websocket.accept", accepted
        self.hello = await self.recv()
        assert self.hello["type"] == "Hello"
        return self.hello

    @property
    def session_id(self) -> str:
        return str(self.hello["payload"]["session_id"])

    async def refused(self) -> tuple[int, dict[str, Any], bytes]:
        """Connect, expect a denial response: (status, headers, body)."""
        await self.comm.send_input({"type": "websocket.connect"})
        start = await self.comm.receive_output(3)
        assert start["type"] == "websocket.http.response.start", start
        body = await self.comm.receive_output(3)
        headers = {bytes(k).decode(): bytes(v).decode() for k, v in start["headers"]}
        return start["status"], headers, body["body"]

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.comm.send_input({"type": "websocket.receive", "text": text})

    async def recv(self, wait: float = 3) -> dict[str, Any]:
        output = await self.comm.receive_output(wait)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])  # type: ignore[no-any-return, unused-ignore]

    async def recv_raw(self, wait: float = 3) -> dict[str, Any]:
        return await self.comm.receive_output(wait)  # type: ignore[no-any-return, unused-ignore]

    async def expect(self, event_type: str, wait: float = 3) -> dict[str, Any]:
        """The next frame, which must be ``event_type``. Announcements of people coming
        online (``PresenceUpdate``) arrive whenever their connect has finished, in any order
        with the frames of this socket's own work: passed over unless asked for (``recv`` and
        ``silent`` still see them)."""
        frame = await self.recv(wait)
        while frame["type"] == "PresenceUpdate" and event_type != "PresenceUpdate":
            frame = await self.recv(wait)
        assert frame["type"] == event_type, frame
        return frame

    async def silent(self, wait: float = 0.3) -> None:
        assert await self.comm.receive_nothing(wait), "expected no frame"

    async def sync(self) -> None:
        """Wait until the consumer handled everything sent so far (a Ping round trip); the
        frames that arrived before the Pong are left in ``self.pending``."""
        await self.send({"type": "Ping"})
        frames = []
        while True:
            frame = await self.recv()
            if frame["type"] == "Pong":
                break
            frames.append(frame)
        self.pending = frames

    async def subscribe(self, channel_id: str | uuid.UUID) -> None:
        await self.send({"type": "Subscribe", "payload": {"channel_id": str(channel_id)}})
        frame = await self.expect("Subscribed")
        assert frame["payload"] == {"channel_id": str(channel_id)}

    async def close(self, code: int = 1000) -> None:
        await self.comm.send_input({"type": "websocket.disconnect", "code": code})
        await self.comm.wait(3)


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


@pytest.fixture
def users(transactional_db: None, api: Api) -> dict[str, TestUser]:
    return {name: api.register(name) for name in ("alice", "bob", "carol")}


@pytest.fixture
def server(users: dict[str, TestUser]) -> dict[str, Any]:
    """alice owns a server with two text channels; bob is a member; carol is not."""
    from chat.models import Channel, Server, ServerMember

    owner = uuid.UUID(users["alice"].id)
    srv = Server.objects.create(owner_id=owner)
    first = Channel.objects.create(server=srv, position=0)
    second = Channel.objects.create(server=srv, position=1)
    for name in ("alice", "bob"):
        ServerMember.objects.create(server=srv, user_id=uuid.UUID(users[name].id))
    return {"id": srv.id, "first": first.id, "second": second.id}
