"""``python -m haven_site.serve``: Daphne, with two additions the gateway needs.

* The ASGI "WebSocket Denial Response" extension: the spec answers a refused WebSocket handshake
  with a real HTTP status and JSON body (401 bad token, 400 connection limit, 429 rate limit),
  where stock Daphne can only answer 403.
* A graceful stop: on SIGTERM every open WebSocket is told to save its resume state and close with
  1001 (going away) before the process exits, so that clients resume on the next instance.
* Flat memory for large bodies, both ways. Stock Daphne queues a request's whole body (spooled to
  a temporary file by Twisted) as ASGI messages at once, and writes response chunks into the
  socket buffer as fast as the application produces them. Here the request body is read from that
  file one chunk at a time as the application asks for it, and ``send()`` of a response chunk
  waits while the socket's buffer is full (Twisted's producer flow control), so a 500 MB upload
  or download costs a few chunks of memory.

Everything else is Daphne's own command line (``-b``, ``-p``, ``--access-log``, ...); the
application defaults to ``haven_site.asgi:application``.
"""

from __future__ import annotations

import asyncio
import io
import sys
from functools import partial
from typing import Any

from daphne import cli, ws_protocol
from daphne.http_protocol import WebRequest
from daphne.server import Server

from haven_site import asgi_guards, shutdown


class HavenWebSocketProtocol(ws_protocol.WebSocketProtocol):
    _denial: list[bytes] | None = None

    def onConnect(self, request: Any) -> Any:
        deferred = super().onConnect(request)
        shutdown.register(self)
        return deferred

    def connectionLost(self, reason: Any) -> None:
        shutdown.unregister(self)
        super().connectionLost(reason)

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.http.response.start" and self.state == self.STATE_CONNECTING:
            status = int(message["status"])
            lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}".encode()]
            lines += [bytes(k) + b": " + bytes(v) for k, v in message.get("headers", [])]
            lines.append(b"connection: close")
            self._denial = [b"\r\n".join(lines) + b"\r\n\r\n"]
            return
        if kind == "websocket.http.response.body" and self._denial is not None:
            self._denial.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self.transport.write(b"".join(self._denial))
                self._denial = None
                if hasattr(self, "handshake_deferred"):
                    del self.handshake_deferred  # answered: Autobahn must not answer again
                self.transport.loseConnection()
            return
        super().handle_reply(message)


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
        if kind == "http.response.body" and not more and gate is not None:
            protocol._haven_gate = None
            if protocol.producer is gate:
                protocol.unregisterProducer()
        await super().handle_reply(protocol, message)
        if kind == "http.response.start" and not getattr(protocol, "finished", False):
            gate = _SocketGate()
            try:
                protocol.registerProducer(gate, True)
                protocol._haven_gate = gate
            except (RuntimeError, ValueError, AttributeError):
                pass  # another producer (pipelining) or a closed channel: no flow control
        elif more and gate is not None:
            await gate.ready.wait()


APPLICATION = "haven_site.asgi:application"
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


def main(argv: list[str] | None = None) -> None:
    ws_protocol.WebSocketFactory.protocol = HavenWebSocketProtocol
    cli.CommandLineInterface.server_class = HavenServer
    asgi_guards.WS_DENIAL_SUPPORTED = True
    shutdown.install()
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(":" in arg and not arg.startswith("-") for arg in args):
        args.append(APPLICATION)
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
