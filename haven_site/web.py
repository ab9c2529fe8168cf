"""The browser client's page (a single-page app) and the JSON 404 for unknown API paths."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from haven_site.api.errors import error_body


def api_not_found(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("Not found", 404), status=404)


@require_safe
def client_app(request: HttpRequest, **route: str) -> HttpResponse:
    """The single-page client for every non-API path (``/invite/<code>`` too: the page reads it)."""
    response = render(request, "client/index.html", {"haven": settings.HAVEN})
    response["Cache-Control"] = "no-cache"
    return response
