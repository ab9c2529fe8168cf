"""``python -m haven_site.serve``: Daphne, with what Haven needs on top (haven_site.server).

* The ASGI "WebSocket Denial Response" extension: the spec answers a refused WebSocket handshake
  with a real HTTP status and JSON body (401 bad token, 400 connection limit, 429 rate limit),
  where stock Daphne can only answer 403.
* A graceful stop: on SIGTERM every open WebSocket is told to save its resume state and close with
  1001 (going away) before the process exits, so that clients resume on the next instance.
* WebSocket limits and fan-out costs (haven_site.server.websocket): no compression, 1 MiB messages,
  bounded outbound buffers, frames prepared once per event.
* Flat memory for large bodies, both ways. Stock Daphne queues a request's whole body (spooled to
  a temporary file by Twisted) as ASGI messages at once, and writes response chunks into the
  socket buffer as fast as the application produces them. Here the request body is read from that
  file one chunk at a time as the application asks for it, and ``send()`` of a response chunk
  waits while the socket's buffer is full (Twisted's producer flow control), so a 500 MB upload
  or download costs a few chunks of memory.

It also routes Daphne's access log through Haven's logging (``haven_site.logging.AccessLog``:
JSON in production, paths without query strings, client addresses only with
``LOG_CLIENT_IPS``), and starts the Prometheus exporter on ``METRICS_PORT`` when that is set
(``haven_site.metrics``).

Everything else is Daphne's own command line (``-b``, ``-p``, ``-v``, ...); the application
defaults to ``haven_site.asgi:application``. Daphne's proxy-header options are not needed: the
client address comes from ``TRUSTED_PROXIES`` (haven_site.clientip).
"""

from __future__ import annotations

import os
import sys

from daphne import cli, http_protocol, server, ws_protocol

from haven_site import asgi_guards, shutdown
from haven_site.logging import AccessLog
from haven_site.server.access import HavenWebRequest
from haven_site.server.streaming import HavenServer
from haven_site.server.websocket import HavenWebSocketFactory, HavenWebSocketProtocol

APPLICATION = "haven_site.asgi:application"


def _start_metrics() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")
    from django.conf import settings

    from haven_site import metrics

    if settings.HAVEN.metrics_port:
        metrics.start_exporter(settings.HAVEN.metrics_port, settings.HAVEN.metrics_bind)


def main(argv: list[str] | None = None) -> None:
    ws_protocol.WebSocketFactory.protocol = HavenWebSocketProtocol
    server.WebSocketFactory = HavenWebSocketFactory  # limits and no compression
    http_protocol.WebRequest = HavenWebRequest  # HTTPFactory builds these
    cli.AccessLogGenerator = AccessLog  # through our logging
    cli.CommandLineInterface.server_class = HavenServer
    asgi_guards.WS_DENIAL_SUPPORTED = True
    shutdown.install()
    _start_metrics()
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(":" in arg and not arg.startswith("-") for arg in args):
        args.append(APPLICATION)  # Daphne requires the application argument
    cli.CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
