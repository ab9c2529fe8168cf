"""Channel categories (api.md 2.8). Every change sends ServerUpdated; none is audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, ServerAccess, access_server
from chat.actions.notify import notify_server_updated
from chat.models import ChannelCategory
from chat.permissions import Permission
from haven_site.api.errors import BadRequest, NotFound

MAX_NAME = 100


def _manage(user: User, server_id: uuid.UUID) -> ServerAccess:
    return access_server(
        user.id, server_id, need=Permission.MANAGE_CHANNELS, missing_server=SERVER_NOT_FOUND
    )


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME:
        raise BadRequest(f"Category name must be at most {MAX_NAME} characters")


def list_categories(user: User, server_id: uuid.UUID) -> list[ChannelCategory]:
    access = access_server(user.id, server_id)
    return list(ChannelCategory.objects.filter(server=access.server).order_by("position", "id"))


def do_create_category(
    user: User, server_id: uuid.UUID, name: str, position: int | None
) -> ChannelCategory:
    access = _manage(user, server_id)
    _check_name(name)
    with transaction.atomic():
        category = ChannelCategory.objects.create(
            server=access.server, name=name, position=position or 0
        )
        notify_server_updated(access.server.id)
    return category


def do_reorder_categories(user: User, server_id: uuid.UUID, order: list[dict[str, Any]]) -> None:
    """Categories of other servers in ``order`` are ignored."""
    access = _manage(user, server_id)
    positions = {entry["id"]: entry["position"] for entry in order}
    categories = list(ChannelCategory.objects.filter(server=access.server, id__in=list(positions)))
    for category in categories:
        category.position = positions[category.id]
    with transaction.atomic():
        ChannelCategory.objects.bulk_update(categories, ["position"])
        notify_server_updated(access.server.id)


def _category(access: ServerAccess, category_id: uuid.UUID) -> ChannelCategory:
    category = ChannelCategory.objects.filter(id=category_id, server=access.server).first()
    if category is None:
        raise NotFound("Category not found")
    return category


def do_update_category(
    user: User,
    server_id: uuid.UUID,
    category_id: uuid.UUID,
    *,
    name: str | None,
    position: int | None,
) -> ChannelCategory:
    access = _manage(user, server_id)
    category = _category(access, category_id)
    if name is not None:
        _check_name(name)
        category.name = name
    if position is not None:
        category.position = position
    with transaction.atomic():
        category.save(update_fields=["name", "position"])
        notify_server_updated(access.server.id)
    return category


def do_delete_category(user: User, server_id: uuid.UUID, category_id: uuid.UUID) -> None:
    """Its channels stay, outside any category (the foreign key sets them to null)."""
    access = _manage(user, server_id)
    category = _category(access, category_id)
    with transaction.atomic():
        category.delete()
        notify_server_updated(access.server.id)
