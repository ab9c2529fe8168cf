"""WebSocket routes: ``/api/v1/ws`` (websocket.md). The consumer arrives with the gateway."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
