"""``python -m haven_site.serve``: Daphne, with two additions the gateway needs.

* The ASGI "WebSocket Denial Response" extension: the spec answers a refused WebSocket handshake
  with a real HTTP status and JSON body (401 bad token, 400 connection limit, 429 rate limit),
  where stock Daphne can only answer 403.
* A graceful stop: on SIGTERM every open WebSocket is told to save its resume state and close with
  1001 (going away) before the process exits, so that clients resume on the next instance.

Everything else is Daphne's own command line (``-b``, ``-p``, ``--access-log``, ...); the
application defaults to ``haven_site.asgi:application``.
"""

from __future__ import annotations

import sys
from typing import Any

from daphne import cli, ws_protocol

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


APPLICATION = "haven_site.asgi:application"
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


def main(argv: list[str] | None = None) -> None:
    ws_protocol.WebSocketFactory.protocol = HavenWebSocketProtocol
    asgi_guards.WS_DENIAL_SUPPORTED = True
    shutdown.install()
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(":" in arg and not arg.startswith("-") for arg in args):
        args.append(APPLICATION)
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
