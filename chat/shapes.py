"""JSON shapes shared across chat routes and events (api.md 1.9, websocket.md 4.2)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from accounts.shapes import avatar_url
from chat.models import (
    AuditLogEntry,
    Ban,
    Channel,
    ChannelCategory,
    ChannelMember,
    Message,
    MessageType,
    PermissionOverwrite,
    Role,
    Server,
    ServerMember,
)
from haven_site.api.encoding import b64, perm, ts, ts_offset


def icon_url(server: Server) -> str | None:
    return f"/api/v1/servers/{server.id}/icon" if server.has_icon else None


def server_shape(server: Server, my_permissions: int) -> dict[str, Any]:
    """ServerResponse: ``system_channel_id`` and ``icon_url`` are left out when unset."""
    shape: dict[str, Any] = {
        "id": str(server.id),
        "encrypted_meta": b64(server.encrypted_meta),
        "owner_id": str(server.owner_id),
        "created_at": ts(server.created_at),
        "my_permissions": perm(my_permissions),
    }
    if server.system_channel_id is not None:
        shape["system_channel_id"] = str(server.system_channel_id)
    url = icon_url(server)
    if url is not None:
        shape["icon_url"] = url
    return shape


def channel_shape(channel: Channel) -> dict[str, Any]:
    """ChannelResponse (``last_message_id`` is never sent over REST)."""
    return {
        "id": str(channel.id),
        "server_id": str(channel.server_id) if channel.server_id else None,
        "encrypted_meta": b64(channel.encrypted_meta),
        "channel_type": channel.channel_type,
        "position": channel.position,
        "created_at": ts(channel.created_at),
        "category_id": str(channel.category_id) if channel.category_id else None,
        "dm_status": channel.dm_status,
        "is_private": channel.is_private,
    }


def category_shape(category: ChannelCategory) -> dict[str, Any]:
    return {
        "id": str(category.id),
        "server_id": str(category.server_id),
        "name": category.name,
        "position": category.position,
        "created_at": ts(category.created_at),
    }


def role_shape(role: Role) -> dict[str, Any]:
    return {
        "id": str(role.id),
        "server_id": str(role.server_id),
        "name": role.name,
        "color": role.color,
        "permissions": perm(role.permissions),
        "position": role.position,
        "is_default": role.is_default,
        "created_at": ts(role.created_at),
    }


def overwrite_shape(overwrite: PermissionOverwrite) -> dict[str, Any]:
    return {
        "id": str(overwrite.id),
        "channel_id": str(overwrite.channel_id),
        "target_type": overwrite.target_type,
        "target_id": str(overwrite.target_id),
        "allow_bits": perm(overwrite.allow_bits),
        "deny_bits": perm(overwrite.deny_bits),
    }


def member_shape(member: ServerMember, role_ids: Iterable[uuid.UUID]) -> dict[str, Any]:
    """ServerMemberResponse; ``member.user`` should be loaded with the member (select_related)."""
    user = member.user
    shape: dict[str, Any] = {
        "user_id": str(member.user_id),
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": avatar_url(user),
        "joined_at": ts(member.joined_at),
    }
    if member.nickname is not None:
        shape["nickname"] = member.nickname
    shape["role_ids"] = [str(r) for r in role_ids]
    if member.timed_out_until is not None and member.timed_out_until > timezone.now():
        shape["timed_out_until"] = ts(member.timed_out_until)
    return shape


def channel_member_shape(member: ChannelMember) -> dict[str, Any]:
    """ChannelMemberInfo; ``member.user`` should be loaded with the member (select_related)."""
    user = member.user
    return {
        "user_id": str(member.user_id),
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": avatar_url(user),
        "joined_at": ts(member.joined_at),
    }


def ban_shape(ban: Ban) -> dict[str, Any]:
    """BanResponse: ``created_at`` keeps the original's ``+00:00`` form (api.md 1.5)."""
    return {
        "id": str(ban.id),
        "user_id": str(ban.user_id),
        "username": ban.user.username,
        "reason": ban.reason,
        "banned_by": str(ban.banned_by_id) if ban.banned_by_id else None,
        "created_at": ts_offset(ban.created_at),
    }


def audit_shape(entry: AuditLogEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "actor_id": str(entry.actor_id),
        "actor_username": entry.actor.username,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": str(entry.target_id) if entry.target_id else None,
        "changes": entry.changes,
        "reason": entry.reason,
        "created_at": ts(entry.created_at),
    }


def message_shape(message: Message) -> dict[str, Any]:
    """MessageResponse / the NewMessage payload. The sender is never included (sealed sender);
    ``reply_to_id`` and ``message_type`` are left out for ordinary messages."""
    shape: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "sender_token": b64(message.sender_token),
        "encrypted_body": b64(message.encrypted_body),
        "timestamp": ts(message.timestamp),
        "expires_at": ts(message.expires_at),
        "has_attachments": message.has_attachments,
        "edited": message.edited_at is not None,
    }
    if message.reply_to_id is not None:
        shape["reply_to_id"] = str(message.reply_to_id)
    if message.message_type == MessageType.SYSTEM:
        shape["message_type"] = "system"
    return shape
