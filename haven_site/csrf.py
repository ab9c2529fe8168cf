"""CSRF protection for the pages that use cookies (Django admin), never for the REST API.

The API authenticates with bearer tokens only (no cookie can act on the user's behalf), and DRF
exempts its views from Django's CSRF check. A request under /api/ that no DRF view answered (an
unknown path, such as an invite link pasted where a code belongs: its encoded slashes are decoded
before routing) reached the plain catch-all view instead, and a POST there was refused by Django's
CSRF middleware with an HTML page that clients could not read. Under /api/ every answer must be
the JSON envelope, so the whole prefix is exempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseForbidden
from django.middleware.csrf import CsrfViewMiddleware

API_PREFIX = "/api/"


class CsrfExceptApiMiddleware(CsrfViewMiddleware):
    def process_view(
        self,
        request: HttpRequest,
        callback: Callable[..., Any],
        callback_args: tuple[Any, ...],
        callback_kwargs: dict[str, Any],
    ) -> HttpResponseForbidden | None:
        if request.path_info.startswith(API_PREFIX):
            return None
        return super().process_view(request, callback, callback_args, callback_kwargs)
