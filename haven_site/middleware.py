"""The spec's security headers (api.md 1.12), on every response including the web client."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse
from django.http.response import ResponseHeaders

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; connect-src 'self' wss:; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": (
        "camera=(), microphone=(self), geolocation=(), interest-cohort=(), browsing-topics=()"
    ),
    "Tk": "N",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


@lru_cache(maxsize=8)
def _policy_with_livekit(client_url: str) -> str:
    """The CSP plus the LiveKit server that browsers are sent to, when it is another origin: its
    signalling WebSocket and the HTTP address the LiveKit SDK asks after a failed connection.
    (Same-origin setups, like the Caddy stack's /livekit/, are already covered by 'self'.)"""
    parts = urlsplit(client_url)
    if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
        return CONTENT_SECURITY_POLICY
    secure = parts.scheme in ("wss", "https")
    sources = f"{'wss' if secure else 'ws'}://{parts.netloc} {'https' if secure else 'http'}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self' wss:", f"connect-src 'self' wss: {sources}"
    )


def content_security_policy() -> str:
    config = settings.HAVEN
    if not config.voice_enabled:
        return CONTENT_SECURITY_POLICY
    return _policy_with_livekit(config.livekit_client_url)


def _stored(headers: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``headers`` as Django's ``ResponseHeaders`` stores them (validated, keyed by lower-case
    name), built once through Django's own setter."""
    template = ResponseHeaders({})
    for name, value in headers.items():
        template[name] = value
    return dict(template._store)


_SECURITY_STORE = _stored(SECURITY_HEADERS)


@lru_cache(maxsize=8)
def _csp_entry(policy: str) -> tuple[str, str]:
    return _stored({"Content-Security-Policy": policy})["content-security-policy"]


class SecurityHeadersMiddleware:
    """Sets the headers on every response. They are constant (the policy per configuration), so
    they are validated once and copied into the response's header store: setting eight headers
    one by one was about 35 Python calls of every request (docs/performance.md)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        store = response.headers._store
        store.update(_SECURITY_STORE)
        store["content-security-policy"] = _csp_entry(content_security_policy())
        return response


class BrowserMessageMiddleware(MessageMiddleware):
    """Django's flash messages (the admin's) for pages only: building their storage costs every
    API request a few hundred microseconds for nothing (docs/performance.md)."""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path.startswith("/api/"):
            super().process_request(request)
