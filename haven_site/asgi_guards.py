"""The edge of the application, before Django and Channels see a request.

For every HTTP request and WebSocket handshake it resolves the client address (trusted proxies
only), applies the global per-IP rate limit to handshakes (an HTTP request's is counted by
haven_site.handler in its worker thread, ``count_global_limit``), and refuses oversize HTTP
bodies with 413 *before* they are read, so that a 600 MB upload to a 2 MiB route costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from haven_site import ratelimit
from haven_site.api.errors import error_body
from haven_site.clientip import client_ip
from haven_site.epochs import EpochValues

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 1024 * 1024
DEFAULT_BODY_LIMIT = 2 * MIB
# Bodies up to this size are read before the global rate limit is counted (in the worker thread,
# with the cache epochs); larger or streamed ones are counted first, at the edge.
SMALL_BODY_BYTES = 64 * 1024
# Set by haven_site.serve, whose Daphne protocol implements the WebSocket denial response (and
# accepts prepared frames in websocket.send, see chat.gateway.inbound).
WS_DENIAL_SUPPORTED = False

TOO_LARGE = "Failed to buffer the request body: length limit exceeded"


def body_limit(path: str) -> int:
    """Per-route request-body limits (api.md 1.8; the banner's 8 MiB is reachable here)."""
    if path.startswith("/api/v1/attachments/"):
        return int(settings.HAVEN.max_upload_size_bytes)
    if path == "/api/v1/users/banner":
        return 8 * MIB
    return DEFAULT_BODY_LIMIT


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _rate_limited_path(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path.startswith(settings.STATIC_URL):
        return False  # the browser client's assets are not rate limited
    return scope.get("method") != "OPTIONS"  # CORS preflights are answered before the limiter


async def send_json(send: Send, status: int, body: dict[str, Any], *, websocket: bool) -> None:
    payload = json.dumps(body).encode()
    prefix = "websocket.http.response" if websocket else "http.response"
    await send(
        {
            "type": f"{prefix}.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": f"{prefix}.body", "body": payload})


async def deny(scope: Scope, send: Send, status: int, message: str) -> None:
    """Answer with a JSON error: a plain response for HTTP, a denial response for WebSocket."""
    if scope["type"] == "websocket":
        if "websocket.http.response" in scope.get("extensions", {}):
            await send_json(send, status, error_body(message, status), websocket=True)
        else:
            await send({"type": "websocket.close", "code": 1008})
        return
    await send_json(send, status, error_body(message, status), websocket=False)


async def deny_text(scope: Scope, send: Send, status: int, text: str) -> None:
    """Refuse a WebSocket handshake with a plain-text body (the framework-level rejections of
    api.md 2.20a, such as a missing ``token`` parameter)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "websocket.http.response.body", "body": body})


class EdgeGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        ip = client_ip(peer[0] if peer else None, _header(scope, b"x-forwarded-for"))
        scope = dict(scope, client=(ip, peer[1] if peer else 0))
        if scope["type"] == "websocket" and WS_DENIAL_SUPPORTED:
            # haven_site.serve also takes prepared frames (haven_site.server.frames).
            scope["extensions"] = {
                **scope.get("extensions", {}),
                "websocket.http.response": {},
                "haven.prepared": {},
            }

        if scope["type"] == "websocket":
            if _rate_limited_path(scope) and not await _count(scope):
                await receive()  # the websocket.connect message
                await deny(scope, send, 429, "Rate limited")
                return
            await self.app(scope, receive, send)
            return

        # An HTTP request with a small body is counted against the global limit in its worker
        # thread, in the round trip that reads its cache epochs (``count_global_limit``,
        # haven_site.handler). One with a large or streamed body is counted here, before the
        # body is read (a client over its limit does not get to upload first), and so is one
        # refused for its size (refused requests count too).
        limit = body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is not None and length > limit:
            if _rate_limited_path(scope):
                await _count(scope)
            await deny(scope, send, 413, TOO_LARGE)
            return
        streamed = _header(scope, b"transfer-encoding") is not None
        if _rate_limited_path(scope) and (streamed or (length or 0) > SMALL_BODY_BYTES):
            scope["haven.counted"] = True
            if not await _count(scope):
                await deny(scope, send, 429, "Rate limited")
                return
        await self.app(scope, _counting_receive(receive, send, limit), send)


async def _count(scope: Scope) -> bool:
    """Count a request or handshake against the global per-address limit (on the event loop)."""
    return await ratelimit.ahit(
        "ip", ratelimit.ip_key(scope["client"][0]), settings.HAVEN.max_requests_per_minute, 60
    )


def count_global_limit(scope: Scope) -> tuple[bool, EpochValues | None]:
    """Count an HTTP request against the global per-address limit, in the worker thread that
    serves it: (within the limit, the request's cache epochs read in the same round trip). Sync.
    A request the edge guard counted already (a large body) passes."""
    if scope.get("haven.counted") or not _rate_limited_path(scope):
        return True, None
    ip = ratelimit.ip_key(scope["client"][0])
    return ratelimit.hit_reading_epochs("ip", ip, settings.HAVEN.max_requests_per_minute, 60)


def _counting_receive(receive: Receive, send: Send, limit: int) -> Receive:
    """Stops a body without Content-Length (chunked) as soon as it passes the limit."""
    received = 0

    async def guarded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                await send_json(send, 413, error_body(TOO_LARGE, 413), websocket=False)
                return {"type": "http.disconnect"}
        return message

    return guarded
