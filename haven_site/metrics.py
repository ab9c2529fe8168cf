"""Haven's own Prometheus metrics, next to django-prometheus's request metrics.

The gateway calls the small API below; the values are served with every other metric of the
process by the exporter that ``python -m haven_site.serve`` starts on ``METRICS_PORT``
(``start_exporter``). Metric names and labels are part of the operator's interface: dashboards
and alerts depend on them (docs/operations.md lists them).
"""

from __future__ import annotations

import logging
from typing import Any, Final

from django.http import HttpRequest
from django_prometheus.middleware import PrometheusAfterMiddleware
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


SERIES_MAX = 10_000


class PrometheusAfterWithSeries(PrometheusAfterMiddleware):  # type: ignore[misc]
    """django-prometheus's "after" middleware (the last one), each labelled series found once
    per process.

    It updates about ten labelled metrics per request, each found through ``labels()``
    (checking the label names, building the value tuple, taking the metric's lock): most of
    its cost, which was a tenth of a small request's CPU. The series (one per method, status,
    view...) are kept here; metrics and values are django-prometheus's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._series: dict[tuple[int, tuple[tuple[str, Any], ...]], Any] = {}

    def label_metric(
        self, metric: Any, request: HttpRequest, response: Any = None, **labels: Any
    ) -> Any:
        if not labels:
            return metric
        key = (id(metric), tuple(labels.items()))
        series = self._series.get(key)
        if series is None:
            if len(self._series) >= SERIES_MAX:  # label values come from requests (methods)
                self._series.clear()
            series = self._series[key] = metric.labels(**labels)
        return series
