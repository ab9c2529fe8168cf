"""Structured logs (JSON, redacted, no client addresses unless enabled) and Prometheus metrics."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import settings
from django_prometheus.middleware import PrometheusAfterMiddleware
from prometheus_client import REGISTRY

from haven_site import logging as haven_logging
from haven_site import metrics
from haven_site.logging import ACCESS_CLIENT, AccessLog, logging_config
from haven_site.metrics import PrometheusAfterWithSeries
from tests.deploy.conftest import Daphne
from tests.helpers import haven_settings


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Haven's production logging configuration, writing to a buffer."""
    import dataclasses

    config = logging_config(dataclasses.replace(settings.HAVEN, log_format="json"))
    stream = io.StringIO()
    config["handlers"]["console"]["stream"] = stream
    logging.config.dictConfig(config)
    try:
        yield stream
    finally:
        logging.config.dictConfig(settings.LOGGING)


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_redact_tokens_and_bearer_headers(json_log: io.StringIO) -> None:
    logger = logging.getLogger("haven.test")
    logger.info("GET /api/v1/ws?v=1&token=eyJhbGciOi.secret.part&x=1")
    logger.warning("header was %s", "Bearer abc.def.ghi")
    logger.info("refresh %(what)s", {"what": "refresh_token=r3fr3sh"})
    out = json_log.getvalue()
    for secret in ("eyJhbGciOi", "abc.def.ghi", "r3fr3sh"):
        assert secret not in out
    first, second, third = records(json_log)
    assert first["message"] == "GET /api/v1/ws"  # no query string at all
    assert first["level"] == "INFO"
    assert first["logger"] == "haven.test"
    assert "time" in first
    assert second["message"] == "header was Bearer [redacted]"
    assert third["message"] == "refresh refresh_token=[redacted]"


def test_typed_text_is_dropped_from_messages_extras_and_tracebacks(json_log: io.StringIO) -> None:
    """What third-party code logs: Django's ``request`` extra (its repr holds the full path),
    a URL object as an argument (httpx), an exception quoting a query, an invite code."""
    from django.test import RequestFactory

    request = RequestFactory().get("/api/v1/gifs/search", {"q": "zqx words"})
    logging.getLogger("django.request").error(
        "Internal Server Error: %s", request.path, extra={"request": request, "status_code": 500}
    )
    logging.getLogger("httpx").warning(
        "HTTP Request: %s %s", "GET", httpx.URL("https://giphy.test/v1/gifs/search?q=zqx+words")
    )
    try:
        raise ValueError("could not fetch /preview?url=https://zqx.example/words")
    except ValueError:
        logging.getLogger("haven.api").exception("Unhandled error in API view")
    logging.getLogger("daphne").warning("handshake for /api/v1/invites/TypedCode1/join failed")
    out = json_log.getvalue()
    for typed in ("zqx", "TypedCode1"):
        assert typed not in out
    django_error, outbound, unhandled, invite = records(json_log)
    assert django_error["request"] == "GET /api/v1/gifs/search"
    assert django_error["status_code"] == 500
    assert outbound["message"] == "HTTP Request: GET https://giphy.test/v1/gifs/search"
    assert "ValueError: could not fetch /preview" in str(unhandled["exc_info"])
    assert invite["message"] == "handshake for /api/v1/invites/[redacted]/join failed"


def http_details(path: str) -> dict[str, object]:
    return {
        "path": path,
        "status": 200,
        "method": "GET",
        "client": "10.0.0.7:5555",
        "time_taken": 0.0123,
        "size": 42,
    }


@pytest.mark.django_db
def test_access_log_leaves_out_client_addresses_by_default(json_log: io.StringIO) -> None:
    AccessLog()("http", "complete", http_details("/api/v1/messages?token=zzz"))
    AccessLog()("websocket", "connecting", {"path": "/api/v1/ws", "client": "10.0.0.7:1"})
    AccessLog()("http", "unknown-action", {})
    http_record, ws_record = records(json_log)
    assert http_record["logger"] == "haven.access"
    assert http_record["path"] == "/api/v1/messages"
    assert http_record["status"] == 200
    assert http_record["bytes"] == 42
    assert http_record["duration_ms"] == 12.3
    assert "client" not in http_record
    assert ws_record["event"] == "WSCONNECTING"
    assert "10.0.0.7" not in json_log.getvalue()
    assert "zzz" not in json_log.getvalue()


@pytest.mark.django_db
def test_access_log_adds_the_resolved_client_when_enabled(json_log: io.StringIO) -> None:
    with haven_settings(log_client_ips=True):
        AccessLog()("http", "complete", http_details("/health"))
        token = ACCESS_CLIENT.set("198.51.100.4")  # resolved through TRUSTED_PROXIES
        try:
            AccessLog()("http", "complete", http_details("/health"))
        finally:
            ACCESS_CLIENT.reset(token)
    peer, resolved = records(json_log)
    assert peer["client"] == "10.0.0.7"
    assert resolved["client"] == "198.51.100.4"


@pytest.mark.django_db
def test_access_records_are_safe_as_built_and_skip_the_redaction(
    json_log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AccessLog writes only redacted parts (the path through safe_path), so the secrets filter
    leaves its records alone (a fortieth of a small request's CPU); every other logger's go
    through it."""
    redacted: list[str] = []
    original = haven_logging.redact

    def counting(text: str) -> str:
        redacted.append(text)
        return original(text)

    monkeypatch.setattr(haven_logging, "redact", counting)
    AccessLog()("http", "complete", http_details("/api/v1/invites/s3cret-code/join?token=zzz"))
    assert redacted == []
    [record] = records(json_log)
    assert record["path"] == "/api/v1/invites/[redacted]/join"
    logging.getLogger("haven.test").info("/api/v1/invites/s3cret-code")
    assert redacted


def test_records_look_up_nothing_that_no_format_prints() -> None:
    """Django configures logging through haven_site.logging.configure: no caller, thread or
    process lookups per record (the logging HOWTO's optimizations)."""
    assert settings.LOGGING_CONFIG == "haven_site.logging.configure"
    assert logging._srcfile is None
    assert (logging.logThreads, logging.logProcesses, logging.logMultiprocessing) == (
        False,
        False,
        False,
    )
    for log_format in ("json", "text"):
        config = logging_config(dataclasses.replace(settings.HAVEN, log_format=log_format))
        printed = str(config["formatters"]["default"])
        for field in ("pathname", "filename", "lineno", "funcName", "thread", "process"):
            assert field not in printed


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    value = REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def test_gateway_metrics_api() -> None:
    before = (
        sample("haven_ws_open_sockets"),
        sample("haven_ws_events_delivered_total"),
        sample("haven_ws_replay_outcomes_total", {"outcome": "resumed"}),
        sample("haven_ws_replay_outcomes_total", {"outcome": "invalid"}),
    )
    metrics.socket_opened()
    metrics.socket_opened()
    metrics.socket_closed()
    metrics.event_delivered()
    metrics.event_delivered(5)
    metrics.event_delivered(0)
    metrics.replay_outcome("resumed")
    metrics.replay_outcome("invalid")
    metrics.replay_outcome("invalid")
    with pytest.raises(ValueError, match="unknown replay outcome"):
        metrics.replay_outcome("maybe")
    after = (
        sample("haven_ws_open_sockets"),
        sample("haven_ws_events_delivered_total"),
        sample("haven_ws_replay_outcomes_total", {"outcome": "resumed"}),
        sample("haven_ws_replay_outcomes_total", {"outcome": "invalid"}),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 6, 1, 2]


def test_prometheus_middleware_wraps_every_other_middleware() -> None:
    middleware = settings.MIDDLEWARE
    assert middleware[0] == "django_prometheus.middleware.PrometheusBeforeMiddleware"
    assert middleware[-1] == "haven_site.metrics.PrometheusAfterWithSeries"
    assert issubclass(PrometheusAfterWithSeries, PrometheusAfterMiddleware)


@pytest.mark.django_db
def test_each_request_counts_in_its_series(client: Any) -> None:
    """The series kept per process are django-prometheus's own: every request still counts."""
    view = "invites.api.registration.InviteRequiredView"
    labels = {"status": "200", "view": view, "method": "GET"}
    name = "django_http_responses_total_by_status_view_method_total"

    def count() -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = count()
    for _ in range(3):
        assert client.get("/api/v1/auth/invite-required").status_code == 200
    assert count() - before == 3


@pytest.mark.slow
def test_daphne_exports_metrics_on_its_own_port(daphne: Daphne) -> None:
    httpx.get(f"{daphne.url}/api/v1/auth/invite-required", timeout=10).raise_for_status()
    text = httpx.get(f"http://127.0.0.1:{daphne.metrics_port}/metrics", timeout=10).text
    assert "haven_ws_open_sockets " in text
    assert "haven_ws_events_delivered_total " in text
    assert 'haven_ws_replay_outcomes_total{outcome="resumed"}' in text
    assert 'haven_ws_replay_outcomes_total{outcome="invalid"}' in text
    assert "django_http_requests_total_by_method_total" in text
    assert 'django_http_responses_total_by_status_total{status="200"}' in text
    # Not on the application port: metrics are for the internal network only.
    assert "haven_ws_open_sockets" not in httpx.get(f"{daphne.url}/metrics", timeout=10).text
