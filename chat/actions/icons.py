"""Server icons (api.md 2.6): owner or MANAGE_SERVER; stored encrypted; public download."""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, access_server, check_not_timed_out
from chat.models import Server
from chat.permissions import Permission
from chat.shapes import icon_url
from haven_site import blobs
from haven_site.api.errors import NotFound
from haven_site.media import MIB, image_upload

ICON_LIMIT = 2 * MIB


def check_manage_icon(user: User, server_id: uuid.UUID) -> Server:
    return access_server(
        user.id,
        server_id,
        need=Permission.MANAGE_SERVER,
        missing_server=SERVER_NOT_FOUND,
        missing_permission="Missing MANAGE_SERVER permission",
    ).server


def check_upload_icon(user: User, server_id: uuid.UUID) -> Server:
    """Uploading a new icon also needs no running timeout in the server (removing one does not)."""
    server = check_manage_icon(user, server_id)
    check_not_timed_out(user.id, server.id)
    return server


def do_set_icon(server: Server, data: bytes) -> str:
    image_upload(data, limit=ICON_LIMIT, too_large="Icon too large (max 2MB)")
    blobs.write_small(blobs.server_icon_key(server.id), data)
    Server.objects.filter(pk=server.pk).update(has_icon=True)
    return icon_url(server.id)


def do_delete_icon(server: Server) -> None:
    """Idempotent: clears the flag, and the blob goes after commit (best effort)."""
    with transaction.atomic():
        Server.objects.filter(pk=server.pk).update(has_icon=False)
        key = blobs.server_icon_key(server.id)
        transaction.on_commit(lambda: blobs.delete(key), robust=True)


def check_icon(server_id: uuid.UUID) -> str:
    has_icon = Server.objects.filter(pk=server_id).values_list("has_icon", flat=True).first()
    if has_icon is None:
        raise NotFound("Server not found")
    if not has_icon:
        raise NotFound("No icon set")
    return blobs.server_icon_key(server_id)
