"""``python -m haven_site.serve``: Daphne, with two additions the gateway needs.

* The ASGI "WebSocket Denial Response" extension: the spec answers a refused WebSocket handshake
  with a real HTTP status and JSON body (401 bad token, 400 connection limit, 429 rate limit),
  where stock Daphne can only answer 403.
* A graceful stop: on SIGTERM every open WebSocket is told to save its resume state and close with
  1001 (going away) before the process exits, so that clients resume on the next instance.

It also routes Daphne's access log through Haven's logging (``haven_site.logging.AccessLog``:
JSON in production, tokens redacted, client addresses only with ``LOG_CLIENT_IPS``), and starts
the Prometheus exporter on ``METRICS_PORT`` when that is set (``haven_site.metrics``).

Everything else is Daphne's own command line (``-b``, ``-p``, ``-v``, ...); the application
defaults to ``haven_site.asgi:application``. Daphne's proxy-header options are not needed: the
client address comes from ``TRUSTED_PROXIES`` (haven_site.clientip).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from daphne import cli, http_protocol, ws_protocol

from haven_site import asgi_guards, shutdown
from haven_site.logging import ACCESS_CLIENT, AccessLog


def _resolved_client(client_addr: Any, headers: list[tuple[bytes, bytes]]) -> str | None:
    from haven_site.clientip import client_ip

    forwarded = b", ".join(v for k, v in headers if k.lower() == b"x-forwarded-for")
    peer = str(client_addr[0]) if client_addr else None
    return client_ip(peer, forwarded.decode("latin-1") or None)


def _with_client(client: Callable[[], str | None], action: Callable[[], Any]) -> Any:
    """Runs ``action`` (which may write an access-log record) with the client address known."""
    token = ACCESS_CLIENT.set(client())
    try:
        return action()
    finally:
        ACCESS_CLIENT.reset(token)


class HavenWebRequest(http_protocol.WebRequest):
    def _client(self) -> str | None:
        headers = [(k, v) for k, values in self.requestHeaders.getAllRawHeaders() for v in values]
        return _resolved_client(self.client_addr, headers)

    def handle_reply(self, message: dict[str, Any]) -> None:
        _with_client(self._client, lambda: super(HavenWebRequest, self).handle_reply(message))


class HavenWebSocketProtocol(ws_protocol.WebSocketProtocol):
    _denial: list[bytes] | None = None
    _denial_status: int | None = None

    def _client(self) -> str | None:
        return _resolved_client(self.client_addr, list(getattr(self, "clean_headers", [])))

    def applicationCreateWorked(self, application_queue: Any) -> None:
        parent = super().applicationCreateWorked
        _with_client(self._client, lambda: parent(application_queue))

    def onOpen(self) -> None:
        _with_client(self._client, super().onOpen)

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        parent = super().onClose
        _with_client(self._client, lambda: parent(wasClean, code, reason))

    def serverReject(self) -> None:
        _with_client(self._client, super().serverReject)

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
        _with_client(self._client, lambda: self.server.log_action("websocket", "rejected", details))


APPLICATION = "haven_site.asgi:application"
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


def _start_metrics() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")
    from django.conf import settings

    from haven_site import metrics

    if settings.HAVEN.metrics_port:
        metrics.start_exporter(settings.HAVEN.metrics_port, settings.HAVEN.metrics_bind)


def main(argv: list[str] | None = None) -> None:
    ws_protocol.WebSocketFactory.protocol = HavenWebSocketProtocol
    http_protocol.WebRequest = HavenWebRequest  # HTTPFactory builds these
    cli.AccessLogGenerator = AccessLog  # through our logging
    asgi_guards.WS_DENIAL_SUPPORTED = True
    shutdown.install()
    _start_metrics()
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(":" in arg and not arg.startswith("-") for arg in args):
        args.append(APPLICATION)  # Daphne requires the application argument
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
