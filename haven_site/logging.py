"""Logging: JSON lines in production, readable text on the embedded default.

Nothing Haven logs carries message bodies, ciphertext, passwords, TOTP secrets, tokens or anything
a user typed. Request paths are logged without their query string (search terms, link-preview
URLs, GIF queries, emoji names and the WebSocket token all travel there) and with invite codes
replaced; the ``RedactSecrets`` filter applies the same rules as a backstop to every record,
third-party ones included (Daphne's and Django's messages, Django's ``request`` extra, exception
tracebacks). See docs/security.md, "Logs".
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haven_site.config import HavenConfig

_SECRET_QUERY = re.compile(r"((?:token|access_token|refresh_token)=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")
# A path's query string: whatever follows "?" up to the next blank or quote.
_PATH_QUERY = re.compile(r"(/[^\s?#\"'<>]*)\?[^\s#\"'<>]*")
# Server invite codes are typed by users and let anyone who reads them join the server.
_INVITE_CODE = re.compile(r"(/api/v1/invites/)[^/\s?#\"'<>]+")


def safe_path(path: str) -> str:
    """A request path as logs may show it: no query string, no invite code."""
    return _INVITE_CODE.sub(r"\1[redacted]", path.split("?", 1)[0])


def redact(text: str) -> str:
    text = _INVITE_CODE.sub(r"\1[redacted]", _PATH_QUERY.sub(r"\1", text))
    return _BEARER.sub(r"\1[redacted]", _SECRET_QUERY.sub(r"\1[redacted]", text))


_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ACCESS_LOGGER:
            return True  # AccessLog builds its records from redacted parts only
        # The message as it will print (arguments may be URLs or other objects, e.g. httpx's
        # URL of an outbound request), redacted as a whole.
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it; redact what is there
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD:
                continue
            if isinstance(value, str):
                setattr(record, name, redact(value))
            elif hasattr(value, "get_full_path"):
                # Django's log_response passes the request; JSON logs would print its repr,
                # query string included.
                setattr(record, name, f"{getattr(value, 'method', '')} {safe_path(value.path)}")
        if record.exc_info:
            # Exception texts may quote a URL or a query: format the traceback here, redacted,
            # and keep only that text (both formatters print exc_text when exc_info is gone).
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text), None
        return True


# The client address of the request being logged, resolved through TRUSTED_PROXIES by the Daphne
# protocols of haven_site.serve (Daphne itself only knows the TCP peer, which is Caddy). Either
# the address or a function that resolves it, called only when the address is logged.
ACCESS_CLIENT: ContextVar[str | Callable[[], str | None] | None] = ContextVar(
    "haven_access_client", default=None
)

ACCESS_LOGGER = "haven.access"

_WS_ACTIONS = {
    "connecting": "WSCONNECTING",
    "connected": "WSCONNECT",
    "rejected": "WSREJECT",
    "disconnected": "WSDISCONNECT",
}


class AccessLog:
    """Daphne's access log ("action logger") as records of the ``haven.access`` logger.

    Daphne's own access log writes NCSA lines with the peer address and the full path (the
    WebSocket path carries the access token, other queries what users typed) straight to stdout,
    past our logging. This one goes through the configured handlers (JSON in production), logs
    the path without its query string and without invite codes (``safe_path``), and adds the
    client address only when the operator enables ``LOG_CLIENT_IPS``. ``stream`` (Daphne's
    ``--access-log`` target) is ignored: logs go where the rest of Haven's logs go.
    """

    def __init__(self, stream: object = None) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        path = safe_path(str(details.get("path", "")))
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
            known = ACCESS_CLIENT.get()
            client = (known() if callable(known) else known) or _host(details.get("client"))
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


def configure(settings: dict[str, Any]) -> None:
    """Django's ``LOGGING_CONFIG``: ``dictConfig``, and records without what no format prints.

    A record looks up its caller's file and line, the thread, the process and the
    multiprocessing process name; neither format uses them, and on an API request (one
    access-log record) they were a fifth of the logging's cost. The logging HOWTO's
    "Optimization" section names these switches."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging.config.dictConfig(settings)


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
            ACCESS_LOGGER: {"level": "INFO"},
            "daphne": {"level": "WARNING"},
            # One INFO line per outbound request, with its URL (Giphy's carries the API key).
            "httpx": {"level": "WARNING"},
        },
    }
