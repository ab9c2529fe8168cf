"""URL map: the REST API under /api/v1, the probes, Django admin, and the browser client."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from haven_site import health
from haven_site.api import views as _converters  # noqa: F401 - registers the <id:...> converter
from haven_site.web import api_not_found, client_app

urlpatterns = [
    path("health", health.health),
    path("health/ready", health.ready),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.urls")),
    path("api/v1/", include("invites.urls")),
    path("api/v1/", include("chat.urls")),
    path("api/v1/", include("voice.urls")),
    re_path(r"^api/", api_not_found),
    # An invite link opens the client, which signs in or registers, then offers to join.
    path("invite/<str:code>", client_app, name="invite"),
    re_path(r"^(?!static/).*$", client_app),
]
