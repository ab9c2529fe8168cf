"""The WebSocket side of Daphne: the ASGI denial-response extension (a refused handshake gets a
real HTTP status and JSON body), registration for the graceful stop, and access logging."""

from __future__ import annotations

from typing import Any

from daphne import ws_protocol

from haven_site import shutdown
from haven_site.server.access import resolved_client, with_client

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


class HavenWebSocketProtocol(ws_protocol.WebSocketProtocol):
    _denial: list[bytes] | None = None
    _denial_status: int | None = None

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

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
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
