"""Django's ASGI handler, running each request's middleware chain and view in ONE worker thread.

Stock ``ASGIHandler`` builds an async middleware chain. Every Django middleware (sessions,
CSRF, CORS, messages...) then hops to a thread and back for its request and response halves,
and a sync DRF view hops once more: some fifteen thread switches per API request, which cost
more CPU than the request itself (docs/performance.md). Here the chain is built sync, as under
WSGI, and the whole of it runs in one call on asgiref's thread pool: one switch per request.
Async views (the health probes) still work: Django runs them from the sync chain.

Database connections live in those worker threads; each request returns its connection (to
the PostgreSQL pool) when it ends, as WSGI's request_finished would.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase


class HavenASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        return await sync_to_async(self._respond, thread_sensitive=False)(request)

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.get_response(request)
        finally:
            close_old_connections()
