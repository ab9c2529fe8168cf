"""``python -m haven_site.serve``: Daphne, with what Haven needs on top (haven_site.server).

* The ASGI "WebSocket Denial Response" extension: the spec answers a refused WebSocket handshake
  with a real HTTP status and JSON body (401 bad token, 400 connection limit, 429 rate limit),
  where stock Daphne can only answer 403.
* Reconnect storms: a 2048-connection listen queue and 30 s to finish a WebSocket handshake
  (Daphne's 5 s dropped the clients at the back of a restart's queue).
* A graceful stop: on SIGTERM every open WebSocket is told to save its resume state and close with
  1001 (going away) before the process exits, so that clients resume on the next instance.
* WebSocket limits and fan-out costs (haven_site.server.websocket): no compression, 1 MiB messages
  and frames (Daphne's own limits, set here to the spec's value), bounded outbound buffers, frames
  prepared once per event.
* Flat memory for large bodies, both ways. Stock Daphne queues a request's whole body (spooled to
  a temporary file by Twisted) as ASGI messages at once, and writes response chunks into the
  socket buffer as fast as the application produces them. Here the request body is read from that
  file one chunk at a time as the application asks for it, and ``send()`` of a response chunk
  waits while the socket's buffer is full (Twisted's producer flow control), so a 500 MB upload
  or download costs a few chunks of memory.

Before patching anything it checks that Daphne, Twisted and Autobahn still have what these
additions rely on (haven_site.server.contract), and refuses to start otherwise.

It also routes Daphne's access log through Haven's logging (``haven_site.logging.AccessLog``:
JSON in production, paths without query strings, client addresses only with
``LOG_CLIENT_IPS``), and starts the Prometheus exporter on ``METRICS_PORT`` when that is set
(``haven_site.metrics``).

``HAVEN_WORKERS`` above 1 (by default one per CPU when Redis is configured) runs that many of
these processes behind the one port, under a small supervisor (haven_site.server.workers).

Everything else is Daphne's own command line (``-b``, ``-p``, ``-v``, ...); the application
defaults to ``haven_site.asgi:application``. Daphne's proxy-header options are not needed: the
client address comes from ``TRUSTED_PROXIES`` (haven_site.clientip).
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from autobahn.websocket import protocol as autobahn_protocol
from daphne import cli, http_protocol, server, ws_protocol
from twisted.internet import endpoints
from twisted.web import http

from haven_site import asgi_guards, shutdown
from haven_site.logging import AccessLog
from haven_site.server import contract, workers
from haven_site.server.access import HavenWebRequest
from haven_site.server.channel import build_channel
from haven_site.server.streaming import HavenServer
from haven_site.server.websocket import HavenWebSocketFactory, HavenWebSocketProtocol, LazyFormat

APPLICATION = "haven_site.asgi:application"
# After a restart every client reconnects at once; those at the back of the queue must not be
# dropped for a slow handshake (Daphne's default: 5 s) or a full listen queue (Twisted's: 50).
HANDSHAKE_TIMEOUT_SECS = 30
BACKLOG = 2048
# websocket.md: text messages up to 1 MiB; larger ones close the socket with 1009.
MAX_MESSAGE_BYTES = 1024 * 1024
# Daphne's options that Haven sets unless the command line does.
DEFAULTS = {
    "--websocket_connect_timeout": str(HANDSHAKE_TIMEOUT_SECS),
    "--websocket-max-message-size": str(MAX_MESSAGE_BYTES),
    "--websocket-max-frame-size": str(MAX_MESSAGE_BYTES),
}


def _start_metrics() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")
    from django.conf import settings

    from haven_site import metrics

    if settings.HAVEN.metrics_port:
        metrics.start_exporter(settings.HAVEN.metrics_port, settings.HAVEN.metrics_bind)


def _server_from_string(reactor: Any, description: str) -> Any:
    """Twisted's endpoint parser, plus the ``fd:fileno=N[:domain=INET6]`` endpoints that
    Daphne's ``--fd`` and the workers' inherited sockets use (Twisted has no ``fd`` parser)."""
    kind, _, rest = description.partition(":")
    if kind == "tcp" and "backlog=" not in rest:
        description += f":backlog={BACKLOG}"  # Twisted's default, 50, drops a storm's SYNs
    if kind != "fd":
        return endpoints.serverFromString(reactor, description)
    options = dict(item.partition("=")[::2] for item in rest.split(":") if item)
    family = getattr(socket, "AF_" + options.get("domain", "INET"))
    return endpoints.AdoptedStreamServerEndpoint(reactor, int(options["fileno"]), family)


class HavenHTTPFactory(http_protocol.HTTPFactory):
    protocol = build_channel  # each response in one write (haven_site.server.channel)

    def log(self, request: Any) -> None:
        """Requests are logged by Daphne's action logger (haven_site.logging.AccessLog). Twisted
        also formatted a combined-log line of every request (full path, query included) for
        its own log, which Daphne sends nowhere (or, at -v 2, to a logger Haven keeps at
        WARNING): some 2 % of a small request's CPU (profiled)."""


def _media_type(line: bytes) -> bytes:
    """Twisted's request parsing reads the Content-Type of every request with a body through
    the ``email`` package, only to see whether it is a form (whose fields Daphne never reads):
    some 3 % of a REST send's CPU (profiled). The media type, lower-cased, is all it needs."""
    return line.split(b";", 1)[0].strip().lower()


def _workers() -> tuple[int, object]:
    from haven_site.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as error:
        print(error, file=sys.stderr)  # noqa: T201 - the operator reads this first
        raise SystemExit(2) from None
    return config.workers, config


def _check_contract() -> None:
    """Refuse to start on a Daphne, Twisted or Autobahn that lacks what the patches below and
    haven_site.server rely on (haven_site.server.contract), before anything is patched."""
    try:
        contract.check()
    except contract.ContractError as error:
        print(error, file=sys.stderr)  # noqa: T201 - the operator reads this first
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    _check_contract()  # also before the supervisor, which would restart refusing workers forever
    if os.environ.get(workers.WORKER_ENV) is None:
        count, config = _workers()
        if count > 1:
            raise SystemExit(workers.supervise(args, count, config))
    autobahn_protocol.pformat = LazyFormat  # type: ignore[assignment, attr-defined]
    server.serverFromString = _server_from_string
    ws_protocol.WebSocketFactory.protocol = HavenWebSocketProtocol
    server.WebSocketFactory = HavenWebSocketFactory  # limits and no compression
    server.HTTPFactory = HavenHTTPFactory  # no second access log
    http._parseContentType = _media_type
    http_protocol.WebRequest = HavenWebRequest  # HTTPFactory builds these
    cli.AccessLogGenerator = AccessLog  # through our logging
    cli.CommandLineInterface.server_class = HavenServer
    asgi_guards.WS_DENIAL_SUPPORTED = True
    shutdown.install()
    _start_metrics()
    for option, value in DEFAULTS.items():
        if not any(arg.startswith(option) for arg in args):
            args += [option, value]
    if not any(":" in arg and not arg.startswith("-") for arg in args):
        args.append(APPLICATION)  # Daphne requires the application argument
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
