"""URL map: the REST API under /api/v1, the probes, Django admin (at ADMIN_URL), and the browser
client."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponseBase
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from haven_site import health
from haven_site.api import views as _converters  # noqa: F401 - registers the <id:...> converter
from haven_site.web import api_not_found, client_app


@csrf_exempt
def schema(request: HttpRequest) -> HttpResponseBase:
    """``GET /api/v1/schema`` (haven_site.api.openapi.SchemaView), imported on first use:
    drf-spectacular brings ``django.test`` and YAML along, ~10 MB a process would otherwise
    carry for a route it rarely serves (docs/performance.md, memory)."""
    from haven_site.api.openapi import SchemaView

    response: HttpResponseBase = SchemaView.as_view()(request)
    return response


urlpatterns = [
    path("health", health.health),
    path("health/ready", health.ready),
    path(settings.HAVEN.admin_url, admin.site.urls),  # ADMIN_URL (docs/configuration.md)
    path("api/v1/schema", schema),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("invites.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("voice.urls")),
    re_path(r"^api/", api_not_found),
    # An invite link opens the client, which signs in or registers, then offers to join.
    path("invite/<str:code>", client_app, name="invite"),
    re_path(r"^(?!static/).*$", client_app),
]
