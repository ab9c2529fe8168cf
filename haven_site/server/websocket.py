"""The WebSocket side of Daphne: the ASGI denial-response extension (a refused handshake gets a
real HTTP status and JSON body), registration for the graceful stop, access logging, and the
limits the gateway relies on:

* no permessage-deflate (ciphertext does not compress, and compression costs CPU per frame and
  per socket); messages and frames above Daphne's size limits (1 MiB, set by haven_site.serve)
  are refused with close code 1009, not a dropped connection;
* WebSocket ping/pong frames count as activity for the gateway's idle timer (``haven.activity``);
* a peer that stops reading cannot make the server buffer without bound: past
  ``OUTBOUND_LIMIT_BYTES`` of unsent data the connection is dropped and the application told
  (``haven.overflow``), so that its session is not resumed with a hole;
* frames prepared once per event (``haven.prepared``) are written to every local socket, straight
  to the socket when nothing is queued (haven_site.server.sockets); the gateway may write them
  without going through the ASGI send coroutines (``haven.send_prepared``, a scope extension
  set by haven_site.serve).
"""

from __future__ import annotations

from pprint import pformat
from typing import Any

from daphne import ws_protocol
from twisted.internet import tcp

from haven_site import shutdown
from haven_site.server.access import resolved_client, with_client
from haven_site.server.frames import PreparedFrame
from haven_site.server.sockets import pending_bytes, write_now


class LazyFormat:
    """Autobahn formats its whole configuration with ``pformat`` for a debug log line on every
    connection, logged or not: a twentieth of a reconnect storm's CPU. haven_site.serve puts this
    in its place, so that the value is formatted only if the line is written."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return pformat(self.value)

    __repr__ = __str__


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}
OUTBOUND_LIMIT_BYTES = 4 * 1024 * 1024


class HavenWebSocketProtocol(ws_protocol.WebSocketProtocol):
    _denial: list[bytes] | None = None
    _denial_status: int | None = None
    _overflowed = False

    def _notify(self, message: dict[str, Any]) -> None:
        queue = getattr(self, "application_queue", None)
        if queue is not None and not self.muted:
            queue.put_nowait(message)

    def onPing(self, payload: bytes) -> None:
        super().onPing(payload)
        self._notify({"type": "haven.activity"})

    def onPong(self, payload: bytes) -> None:
        super().onPong(payload)
        self._notify({"type": "haven.activity"})

    def _pending_bytes(self) -> int:
        return pending_bytes(self.transport)

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        if sync or chopsize or not isinstance(self.transport, tcp.Connection):
            super().sendData(data, sync, chopsize)
            return
        write_now(self.transport, data)

    def serverClose(self, code: int | None = None) -> None:
        """Autobahn's public ``sendClose`` only takes 1000 and 3000-4999; the gateway also
        closes with the protocol's own codes (1001 going away, 1008 policy, 1009 too big,
        1013 try again later), which are valid for a server to send (RFC 6455 7.4.1)."""
        self.sendCloseFrame(code=1000 if code is None else int(code), isReply=False)

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self._overflowed:
            return
        super().serverSend(content, binary)
        self._check_overflow()

    def _check_overflow(self) -> None:
        if self._pending_bytes() > OUTBOUND_LIMIT_BYTES:
            self._overflowed = True
            self._notify({"type": "haven.overflow"})
            self.transport.abortConnection()

    def _client(self) -> str | None:
        return resolved_client(self.client_addr, list(getattr(self, "clean_headers", [])))

    def applicationCreateWorked(self, application_queue: Any) -> None:
        parent = super().applicationCreateWorked
        with_client(self._client, lambda: parent(application_queue))

    def onOpen(self) -> None:
        with_client(self._client, super().onOpen)

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        parent = super().onClose
        with_client(self._client, lambda: parent(wasClean, code, reason))

    def serverReject(self) -> None:
        with_client(self._client, super().serverReject)

    def onConnect(self, request: Any) -> Any:
        deferred = super().onConnect(request)
        shutdown.register(self)
        return deferred

    def connectionLost(self, reason: Any) -> None:
        shutdown.unregister(self)
        super().connectionLost(reason)

    def send_prepared(self, prepared: PreparedFrame) -> None:
        """Write a frame built once for every local socket that receives the event (also
        called directly by the gateway: the ``haven.send_prepared`` scope extension)."""
        if self.state != self.STATE_OPEN or self._overflowed:
            return
        if not isinstance(self.transport, tcp.Connection):
            self.sendPreparedMessage(prepared)
            self._check_overflow()
        elif not write_now(self.transport, prepared.payloadHybi):
            # Autobahn's sendPreparedMessage, without its calls: compression is never negotiated
            # (the frame is as prepared), and only a frame the kernel did not take at once can
            # add to the buffer the overflow guard watches. Some 10 % of a fan-out's CPU.
            self._check_overflow()

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.send" and self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # The peer is going (its close frame crossed this event): nothing more can be sent,
            # and that is not an error. Autobahn would raise Disconnected into the sender (the
            # gateway's hub, which logged "Gateway delivery failed" with a traceback).
            return
        prepared = message.get("haven.prepared")
        if kind == "websocket.send" and prepared is not None:
            self.send_prepared(prepared)
            return
        if kind == "websocket.http.response.start" and self.state == self.STATE_CONNECTING:
            status = int(message["status"])
            lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}".encode()]
            lines += [bytes(k) + b": " + bytes(v) for k, v in message.get("headers", [])]
            lines.append(b"connection: close")
            self._denial = [b"\r\n".join(lines) + b"\r\n\r\n"]
            self._denial_status = status
            return
        if kind == "websocket.http.response.body" and self._denial is not None:
            self._denial.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                self.transport.write(b"".join(self._denial))
                self._denial = None
                if hasattr(self, "handshake_deferred"):
                    del self.handshake_deferred  # answered: Autobahn must not answer again
                self.transport.loseConnection()
                self._log_denial()
            return
        super().handle_reply(message)

    def _log_denial(self) -> None:
        details = {"path": self.request.path, "client": None, "status": self._denial_status}
        with_client(self._client, lambda: self.server.log_action("websocket", "rejected", details))


class HavenWebSocketFactory(ws_protocol.WebSocketFactory):
    protocol = HavenWebSocketProtocol

    def setProtocolOptions(self, **options: Any) -> None:
        # The size limits come with Daphne's own options (--websocket-max-message-size and
        # --websocket-max-frame-size); Autobahn enforces them, and without failByDrop=False it
        # would drop the TCP connection instead of closing with 1009 as the spec says.
        options.update(perMessageCompressionAccept=_refuse_compression, failByDrop=False)
        super().setProtocolOptions(**options)


def _refuse_compression(offers: Any) -> None:
    return None
