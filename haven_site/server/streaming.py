"""Flat memory for large HTTP bodies, both ways (see haven_site.serve)."""

from __future__ import annotations

import asyncio
import io
from functools import partial
from typing import Any

from daphne.http_protocol import WebRequest
from daphne.server import Server

BODY_CHUNK = 64 * 1024


class _StreamedBody(asyncio.Queue[Any]):
    """The input queue of one HTTP request: body chunks are read from Twisted's spooled body
    file when the application asks for them; other messages (disconnect) queue as usual."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body
        self._done = False

    def put_nowait(self, message: Any) -> None:
        if message.get("type") == "http.request":
            return  # Daphne's own (now empty) body message: the body is served from the file
        if message.get("type") == "http.disconnect":
            self._finish()
        super().put_nowait(message)

    async def get(self) -> Any:
        if not self._done:
            chunk = self._body.read(BODY_CHUNK)
            more = len(chunk) == BODY_CHUNK
            if not more:
                self._finish()
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await super().get()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._body.close()


class _SocketGate:
    """A push producer registered on the response: Twisted pauses it when the socket's send
    buffer is full and resumes it when the buffer drains."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.ready.set()

    def pauseProducing(self) -> None:
        self.ready.clear()

    def resumeProducing(self) -> None:
        self.ready.set()

    def stopProducing(self) -> None:
        self.ready.set()


class HavenServer(Server):
    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        direct = getattr(protocol, "send_prepared", None)
        if scope.get("type") == "websocket" and direct is not None:
            # The gateway hands each socket the frame prepared for every local receiver of an
            # event; this writes it at once, without the ASGI send coroutines (two per frame)
            # that a fan-out to hundreds of sockets would otherwise await one by one.
            scope["extensions"] = {**scope.get("extensions", {}), "haven.send_prepared": direct}
        if scope.get("type") != "http" or not isinstance(protocol, WebRequest):
            return super().create_application(protocol, scope)
        assert "application_instance" not in self.connections[protocol]
        body, protocol.content = protocol.content, io.BytesIO()
        input_queue = _StreamedBody(body)
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            body.close()
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue

    async def handle_reply(self, protocol: Any, message: dict[str, Any]) -> None:
        if not isinstance(protocol, WebRequest):
            await super().handle_reply(protocol, message)
            return
        kind = message.get("type")
        gate: _SocketGate | None = getattr(protocol, "_haven_gate", None)
        more = kind == "http.response.body" and message.get("more_body", False)
        if more and gate is None and not getattr(protocol, "finished", False):
            # A body in several messages (a download): flow control from its first chunk on.
            # A whole response (one body message) needs none and registers nothing.
            gate = _SocketGate()
            try:
                protocol.registerProducer(gate, True)
                protocol._haven_gate = gate
            except (RuntimeError, ValueError, AttributeError):
                gate = None  # another producer (pipelining) or a closed channel
        if kind == "http.response.body" and not more and gate is not None:
            protocol._haven_gate = None
            # A client that closed mid-response took the channel with it (Twisted's
            # Request.connectionLost sets it to None): nothing is left to unregister from, and
            # unregisterProducer() would raise AttributeError into the application.
            if protocol.producer is gate and protocol.channel is not None:
                protocol.unregisterProducer()
        await super().handle_reply(protocol, message)
        if more and gate is not None:
            await gate.ready.wait()
