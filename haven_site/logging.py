"""Logging: JSON lines in production, readable text on the embedded default.

Nothing Haven logs carries message bodies, ciphertext, passwords, TOTP secrets or tokens; the
``RedactSecrets`` filter is the backstop for third-party messages (Daphne logs request paths, and
the WebSocket path carries the access token in its query string).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haven_site.config import HavenConfig

_SECRET_QUERY = re.compile(r"((?:token|access_token|refresh_token)=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


def redact(text: str) -> str:
    return _BEARER.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1[redacted]", text))


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            if isinstance(record.args, tuple):
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            elif isinstance(record.args, dict):
                record.args = {
                    k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
                }
        return True


# The client address of the request being logged, resolved through TRUSTED_PROXIES by the Daphne
# protocols of haven_site.serve (Daphne itself only knows the TCP peer, which is Caddy).
ACCESS_CLIENT: ContextVar[str | None] = ContextVar("haven_access_client", default=None)

_WS_ACTIONS = {
    "connecting": "WSCONNECTING",
    "connected": "WSCONNECT",
    "rejected": "WSREJECT",
    "disconnected": "WSDISCONNECT",
}


class AccessLog:
    """Daphne's access log ("action logger") as records of the ``haven.access`` logger.

    Daphne's own access log writes NCSA lines with the peer address and the full path (the
    WebSocket path carries the access token) straight to stdout, past our logging. This one goes
    through the configured handlers (JSON in production), redacts tokens in the path, and adds the
    client address only when the operator enables ``LOG_CLIENT_IPS``. ``stream`` (Daphne's
    ``--access-log`` target) is ignored: logs go where the rest of Haven's logs go.
    """

    def __init__(self, stream: object = None) -> None:
        self.logger = logging.getLogger("haven.access")

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        path = redact(str(details.get("path", "")))
        fields: dict[str, Any] = {"path": path}
        if protocol == "http" and action == "complete":
            fields.update(
                method=str(details.get("method", "")),
                status=details.get("status"),
                bytes=details.get("size"),
                duration_ms=round(float(details.get("time_taken") or 0.0) * 1000, 1),
            )
            text = f"{fields['method']} {path} {fields['status']}"
        elif protocol == "websocket" and action in _WS_ACTIONS:
            fields["event"] = _WS_ACTIONS[action]
            if details.get("status") is not None:
                fields["status"] = details["status"]
            text = f"{_WS_ACTIONS[action]} {path}"
        else:
            return
        if _log_client_ips():
            client = ACCESS_CLIENT.get() or _host(details.get("client"))
            if client:
                fields["client"] = client
        self.logger.info("%s", text, extra=fields)


def _host(client: object) -> str | None:
    """Daphne passes the peer as "host:port"; keep the host."""
    if not client:
        return None
    host, _, _port = str(client).rpartition(":")
    return host or str(client)


def _log_client_ips() -> bool:
    from django.conf import settings

    return bool(settings.HAVEN.log_client_ips)


def logging_config(config: HavenConfig) -> dict[str, Any]:
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if config.log_format == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": {"()": "haven_site.logging.RedactSecrets"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["redact"],
            }
        },
        "root": {"handlers": ["console"], "level": "INFO"},
        "loggers": {
            "django.request": {"level": "ERROR"},
            "django.channels.server": {"level": "WARNING"},
            "haven.access": {"level": "INFO"},
            "daphne": {"level": "WARNING"},
        },
    }
