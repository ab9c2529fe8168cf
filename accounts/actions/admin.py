"""Instance administration (api.md 2.26, operations.md 8.6)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, QuerySet

from accounts.actions.auth import do_delete_user
from accounts.models import User
from haven_site.api.errors import BadRequest, NotFound


def search_users(search: str | None, limit: int, offset: int) -> QuerySet[User]:
    users = User.objects.annotate(server_count=Count("memberships")).order_by("-created_at", "id")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return users[offset : offset + limit]


def instance_stats() -> dict[str, int]:
    """api.md 2.26; ``active_connections`` counts distinct users connected to the gateway on
    any instance (the original counted this process only)."""
    from chat.gateway.registry import get_registry
    from chat.models import Channel, Message, Server

    return {
        "total_users": User.objects.count(),
        "total_servers": Server.objects.count(),
        "total_channels": Channel.objects.count(),
        "total_messages": Message.objects.count(),
        "active_connections": get_registry().connected_users(),
    }


def do_set_admin(admin: User, target_id: uuid.UUID, is_admin: bool) -> User:
    if target_id == admin.id and not is_admin:
        raise BadRequest("Cannot remove your own admin status")
    updated = User.objects.filter(id=target_id).update(is_instance_admin=is_admin)
    if not updated:
        raise NotFound("User not found")
    return User.objects.get(id=target_id)


def do_admin_delete_user(admin: User, target_id: uuid.UUID) -> None:
    if target_id == admin.id:
        raise BadRequest("Cannot delete your own account via admin panel")
    target = User.objects.filter(id=target_id).first()
    if target is None:
        raise NotFound("User not found")
    do_delete_user(target)
