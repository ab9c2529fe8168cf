"""Django's ASGI handler, running each request in ONE worker thread: signals, middleware, view,
and (for ordinary responses) the response's close.

Stock ``ASGIHandler`` builds an async middleware chain: every Django middleware (sessions,
CSRF, CORS, messages...) then hops to a thread and back for its request and response halves,
and a sync DRF view hops once more. It also sends ``request_started`` through a fresh
single-thread executor per request (a thread started and joined per request) and closes the
response through another hop: some fifteen thread switches per API request, which cost more
CPU than the request itself (docs/performance.md). Here the body is read on the event loop,
then one call on the loop's worker pool (``haven_site.threads``) does what WSGI would do for
the request (the global rate limit first, counted in the Redis round trip that reads the
request's cache epochs; signals, middleware chain built sync, view, ``response.close()``,
which sends ``request_finished``), and the response is written from the event loop. Async
views (the health probes) still work: Django runs them from the sync chain.

Streaming responses (downloads) are written as Django writes them, watching for the client to
go away, and closed afterwards (their iterator may hold a file open until then).

Database connections live in the worker threads; each request returns its connection (to the
PostgreSQL pool) when it ends, as WSGI's request_finished does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import ResolverMatch, set_script_prefix

from haven_site import epochs
from haven_site.api.errors import error_body
from haven_site.asgi_guards import count_global_limit
from haven_site.threads import run_in_thread

ROUTES_MAX = 10_000


def _rate_limited() -> HttpResponse:
    """The global limit's 429, as the edge guard answers a handshake: JSON, before Django."""
    body = json.dumps(error_body("Rate limited", 429)).encode()
    response = HttpResponse(body, status=429, content_type="application/json")
    response["Content-Length"] = str(len(body))
    return response


class HavenASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._routes: dict[str, ResolverMatch] = {}

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await run_in_thread(self._serve, scope, body_file)
            if response.streaming:
                await self._stream(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    def _serve(self, scope: Any, body_file: Any) -> HttpResponseBase:
        """The whole request, sync, in the worker thread."""
        allowed, known_epochs = count_global_limit(scope)
        if not allowed:
            return _rate_limited()
        epochs.begin(known_epochs)  # one unit of work: the cache epochs are read once for it
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__  # type: ignore[attr-defined]
                if isinstance(response, FileResponse):
                    response.block_size = self.chunk_size
            assert response is not None
            if not response.streaming:
                response.close()  # request_finished: the connection goes back to the pool
            return response
        finally:
            epochs.end()
            close_old_connections()

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        """Django's URL resolution, remembered per path: a request walks dozens of patterns
        (and builds the list of those it tried) before it finds its view."""
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)  # a per-request URL map
        found = self._routes.get(request.path_info)
        if found is None:
            found = super().resolve_request(request)
            if len(self._routes) >= ROUTES_MAX:
                self._routes.clear()
            self._routes[request.path_info] = found
        match = object.__new__(ResolverMatch)  # its own copy (ResolverMatch refuses copy())
        match.__dict__.update(found.__dict__, kwargs=dict(found.kwargs))
        request.resolver_match = match
        return match

    async def _stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        sending = asyncio.ensure_future(self.send_response(response, send))
        listening = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
            for task in (listening, sending):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
        finally:
            await run_in_thread(response.close)
