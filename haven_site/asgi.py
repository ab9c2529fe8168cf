"""ASGI entry point: HTTP goes to Django (haven_site.handler), WebSocket to the realtime gateway,
both behind the edge guard (client address, global rate limit, body limits). Served by
``python -m haven_site.serve``.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")

import django
from channels.routing import ProtocolTypeRouter, URLRouter

django.setup(set_prefix=False)

from chat.gateway.routing import websocket_urlpatterns  # noqa: E402 - needs Django set up
from haven_site.asgi_guards import EdgeGuard  # noqa: E402
from haven_site.handler import HavenASGIHandler  # noqa: E402

application = EdgeGuard(
    ProtocolTypeRouter(
        {
            "http": HavenASGIHandler(),
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
