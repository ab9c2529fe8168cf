"""Servers (api.md 2.6): create, list, read, settings, delete, and the caller's permissions."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, ServerAccess, access_server
from chat.actions.audit import record_audit
from chat.actions.notify import notify_server_deleted, notify_server_updated
from chat.models import Channel, ChannelMember, ChannelType, Role, Server, ServerMember
from chat.permissions import DEFAULT_EVERYONE, Permission, permissions_in_servers
from chat.storage import delete_message_files_on_commit, delete_server_files_on_commit
from haven_site.api.encoding import decode_b64
from haven_site.api.errors import BadRequest, Forbidden
from haven_site.epochs import EpochCache

MAX_META = 8192  # create: decoded size of encrypted_meta
MAX_PATCH_META = 4096  # PATCH: 1..4096 bytes
WELCOME_META = b"welcome"  # the default channel's (unencrypted) metadata
EVERYONE = "@everyone"


@dataclass(frozen=True)
class ServerView:
    """A server and the caller's effective permissions there (``my_permissions``)."""

    server: Server
    my_permissions: int


def decode_meta(text: str) -> bytes:
    """``encrypted_meta`` of server, channel, DM and group creation and of channel rename (at
    most 8 KiB; PATCH /servers/{id} has its own rule)."""
    raw = decode_b64(text, "Invalid encrypted_meta encoding")
    if len(raw) > MAX_META:
        raise BadRequest("encrypted_meta exceeds maximum size (8KB)")
    return raw


def do_create_server(owner: User, encrypted_meta: str) -> ServerView:
    """The server, the owner's membership, @everyone, and a ``welcome`` text channel that is also
    the system channel. No audit entry and no event."""
    meta = decode_meta(encrypted_meta)
    with transaction.atomic():
        server = Server.objects.create(owner=owner, encrypted_meta=meta)
        ServerMember.objects.create(server=server, user=owner)
        Role.objects.create(
            server=server,
            name=EVERYONE,
            color=None,
            permissions=DEFAULT_EVERYONE,
            position=0,
            is_default=True,
        )
        channel = Channel.objects.create(
            server=server, channel_type=ChannelType.TEXT, position=0, encrypted_meta=WELCOME_META
        )
        ChannelMember.objects.create(channel=channel, user=owner)
        server.system_channel = channel
        server.save(update_fields=["system_channel"])
    access = access_server(owner.id, server.id)
    return ServerView(access.server, access.perms.bits)


def _copies(views: list[ServerView]) -> list[ServerView]:
    return [ServerView(copy.copy(v.server), v.my_permissions) for v in views]


# Per process, while no server, membership or role changes anywhere (haven_site.epochs).
_servers_of = EpochCache("access", copy=_copies)


def servers_of(user: User) -> list[ServerView]:
    """The caller's servers, newest first, each with ``my_permissions``: three queries, or none
    while nothing behind them changed."""

    def load() -> list[ServerView]:
        servers = list(Server.objects.filter(members__user=user).order_by("-created_at", "-id"))
        perms = permissions_in_servers(user.id, servers)
        return [ServerView(s, perms[s.id].bits) for s in servers]

    return _servers_of.get(user.id, load)


def server_for_member(user: User, server_id: uuid.UUID) -> ServerView:
    """GET /servers/{id}: MEMBER (a missing server is the same 403)."""
    access = access_server(user.id, server_id)
    return ServerView(access.server, access.perms.bits)


def my_permissions(user: User, server_id: uuid.UUID) -> ServerAccess:
    return access_server(user.id, server_id)


def do_update_server(
    user: User,
    server_id: uuid.UUID,
    *,
    system_channel_id: uuid.UUID | None,
    encrypted_meta: str | None,
) -> None:
    """PATCH /servers/{id}: only the fields given; ``system_channel_id: null`` is "unchanged"."""
    access = access_server(
        user.id,
        server_id,
        need=Permission.MANAGE_SERVER,
        missing_permission="Missing MANAGE_SERVER permission",
    )
    server = access.server
    fields = []
    if system_channel_id is not None:
        if not Channel.objects.filter(id=system_channel_id, server=server).exists():
            raise BadRequest("Channel does not belong to this server")
        server.system_channel_id = system_channel_id
        fields.append("system_channel")
    if encrypted_meta is not None:
        raw = decode_b64(encrypted_meta, "Invalid base64 for encrypted_meta")
        if not 1 <= len(raw) <= MAX_PATCH_META:
            raise BadRequest("encrypted_meta must be between 1 and 4096 bytes")
        server.encrypted_meta = raw
        fields.append("encrypted_meta")
    with transaction.atomic():
        if fields:
            server.save(update_fields=fields)
        record_audit(
            server.id,
            user.id,
            "server_update",
            "server",
            server.id,
            {
                "system_channel_id": str(system_channel_id) if system_channel_id else None,
                "encrypted_meta_updated": encrypted_meta is not None,
            },
        )
        notify_server_updated(server.id)


def do_delete_server(user: User, server_id: uuid.UUID) -> None:
    """Owner only. Everything of the server goes with it (cascade)."""
    access = access_server(user.id, server_id, missing_server=SERVER_NOT_FOUND)
    if not access.perms.is_owner:
        raise Forbidden("Only the server owner can delete the server")
    delete_server(access.server)


def delete_server(server: Server) -> None:
    """Delete a server and tell every member's connections (``ServerDeleted``)."""
    with transaction.atomic():
        member_ids = list(
            ServerMember.objects.filter(server=server).values_list("user_id", flat=True)
        )
        server_id = server.id
        delete_message_files_on_commit(channel__server=server)
        delete_server_files_on_commit(server)
        server.delete()
        notify_server_deleted(server_id, member_ids)
