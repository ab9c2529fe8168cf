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
import io
import json
import tempfile
from typing import IO, Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections, reset_queries
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
        if not settings.DEBUG:
            # Queries are recorded only with DEBUG on (or while a test captures them, which
            # counts from where it starts): Django's reset_queries would clear empty logs on
            # every request, walking every connection through asgiref's Local, 3 % of a REST
            # send's CPU (profiled).
            signals.request_started.disconnect(reset_queries)

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
                await self._send_whole(response, send)
        finally:
            body_file.close()

    async def read_body(self, receive: Any) -> IO[bytes]:
        """Django's, except that a body that arrives in one message (every API request's
        does) is wrapped as it is, not copied into a new spooled temporary file."""
        spool: IO[bytes] | None = None
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if spool is not None:
                    spool.close()
                raise RequestAborted()
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if spool is None:
                if not more:
                    return io.BytesIO(body)
                spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (the caller closes it)
                    max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
                )
            spool.write(body)
            if not more:
                spool.seek(0)
                return spool

    async def _send_whole(self, response: HttpResponseBase, send: Any) -> None:
        """Django's ``send_response`` for a response that is not streamed, with the headers
        read straight from their store: Django's case-insensitive mapping walks them through
        a Python generator and a lookup per header, a quarter of the event loop's share of an
        API request."""
        # ResponseHeaders keeps both as str, converted when set.
        headers = [
            (name.encode("ascii"), value.encode("latin1"))
            for name, value in response.headers._store.values()
        ]
        for cookie in response.cookies.values():
            headers.append((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        body = response.content  # type: ignore[attr-defined]
        size = self.chunk_size
        if len(body) <= size:
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        for offset in range(0, len(body), size):
            more = offset + size < len(body)
            await send(
                {
                    "type": "http.response.body",
                    "body": body[offset : offset + size],
                    "more_body": more,
                }
            )

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
