"""WebSocket routes: ``/api/v1/ws`` (websocket.md), served by the gateway consumer."""

from __future__ import annotations

from typing import Any

from django.urls import path

from chat.gateway.consumer import GatewayConsumer

websocket_urlpatterns: list[Any] = [
    path("api/v1/ws", GatewayConsumer.as_asgi()),
]
