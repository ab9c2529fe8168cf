"""Haven's own Prometheus metrics, next to django-prometheus's request metrics.

The gateway calls the small API below; the values are served with every other metric of the
process by the exporter that ``python -m haven_site.serve`` starts on ``METRICS_PORT``
(``start_exporter``). Metric names and labels are part of the operator's interface: dashboards
and alerts depend on them (docs/operations.md lists them).
"""

from __future__ import annotations

import logging
from typing import Final

from prometheus_client import Counter, Gauge, start_http_server

logger = logging.getLogger("haven.metrics")

REPLAY_OUTCOMES: Final = ("resumed", "invalid")

WS_OPEN_SOCKETS = Gauge(
    "haven_ws_open_sockets",
    "WebSocket connections of the gateway currently open in this process.",
)
WS_EVENTS_DELIVERED = Counter(
    "haven_ws_events_delivered",  # exposed as haven_ws_events_delivered_total
    "Events sent to WebSocket clients by this process.",
)
WS_REPLAY_OUTCOMES = Counter(
    "haven_ws_replay_outcomes",  # exposed as haven_ws_replay_outcomes_total{outcome=...}
    "Resume attempts, by outcome: resumed (events replayed) or invalid (fresh connect needed).",
    ["outcome"],
)
for _outcome in REPLAY_OUTCOMES:
    WS_REPLAY_OUTCOMES.labels(outcome=_outcome)  # export zeroes before the first resume


def socket_opened() -> None:
    WS_OPEN_SOCKETS.inc()


def socket_closed() -> None:
    WS_OPEN_SOCKETS.dec()


def event_delivered(n: int = 1) -> None:
    if n > 0:
        WS_EVENTS_DELIVERED.inc(n)


def replay_outcome(name: str) -> None:
    """Counts one resume attempt; ``name`` is ``resumed`` or ``invalid``."""
    if name not in REPLAY_OUTCOMES:
        raise ValueError(f"unknown replay outcome {name!r} (expected one of {REPLAY_OUTCOMES})")
    WS_REPLAY_OUTCOMES.labels(outcome=name).inc()


def start_exporter(port: int, bind: str) -> None:
    """Serves every metric of this process at ``http://bind:port/metrics`` from a thread."""
    start_http_server(port, addr=bind)
    logger.info("Prometheus metrics on %s:%d/metrics", bind, port)
