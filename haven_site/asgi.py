"""ASGI entry point: HTTP goes to Django, WebSocket to the realtime gateway, both behind the edge
guard (client address, global rate limit, body limits). Served by ``python -m haven_site.serve``.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from chat.gateway.routing import websocket_urlpatterns  # noqa: E402 - needs Django set up
from haven_site.asgi_guards import EdgeGuard  # noqa: E402

application = EdgeGuard(
    ProtocolTypeRouter(
        {
            "http": django_application,
            "websocket": URLRouter(websocket_urlpatterns),
        }
    )
)
