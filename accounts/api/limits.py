"""The auth-route limiter: 10 requests per minute per client address (operations.md 4.1)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from haven_site import ratelimit
from haven_site.api.errors import RateLimited
from haven_site.api.views import ApiView


def client_ip(request: Request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def client_agent(request: Request) -> str | None:
    return request.META.get("HTTP_USER_AGENT")


class AuthRateLimitedView(ApiView):
    """An anonymous auth route, limited per address on top of the global limit."""

    public = True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not ratelimit.auth_allowed(client_ip(request)):
            raise RateLimited()
        super().initial(request, *args, **kwargs)
