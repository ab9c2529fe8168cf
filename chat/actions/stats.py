"""The instance's numbers (api.md 2.26 ``GET /admin/stats``, the admin's front page)."""

from __future__ import annotations

from accounts.models import User
from chat.models import Channel, Message, Server
from realtime.registry import get_registry


def instance_stats() -> dict[str, int]:
    """api.md 2.26; ``active_connections`` counts distinct users connected to the gateway on
    any instance (docs/realtime.md)."""

    return {
        "total_users": User.objects.count(),
        "total_servers": Server.objects.count(),
        "total_channels": Channel.objects.count(),
        "total_messages": Message.objects.count(),
        "active_connections": get_registry().connected_users(),
    }
