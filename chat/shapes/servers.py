"""Shapes of the server domain (api.md 1.9): servers, channels, categories, roles, overwrites,
members, bans, audit entries and custom emojis."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from accounts.shapes import user_summary
from chat.models import (
    AuditLogEntry,
    Ban,
    Channel,
    ChannelCategory,
    ChannelMember,
    CustomEmoji,
    PermissionOverwrite,
    Role,
    Server,
    ServerMember,
)
from haven_site.api.encoding import b64, perm, ts, ts_offset


def icon_url(server_id: uuid.UUID) -> str:
    return f"/api/v1/servers/{server_id}/icon"


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
    if server.has_icon:
        shape["icon_url"] = icon_url(server.id)
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
    shape: dict[str, Any] = {**user_summary(member.user), "joined_at": ts(member.joined_at)}
    if member.nickname is not None:
        shape["nickname"] = member.nickname
    shape["role_ids"] = [str(r) for r in role_ids]
    if member.timed_out_until is not None and member.timed_out_until > timezone.now():
        shape["timed_out_until"] = ts(member.timed_out_until)
    return shape


def channel_member_shape(member: ChannelMember) -> dict[str, Any]:
    """ChannelMemberInfo; ``member.user`` should be loaded with the member (select_related)."""
    return {**user_summary(member.user), "joined_at": ts(member.joined_at)}


def ban_shape(ban: Ban) -> dict[str, Any]:
    """BanResponse: ``created_at`` keeps the spec's ``+00:00`` form (api.md 1.5)."""
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


def emoji_shape(emoji: CustomEmoji) -> dict[str, Any]:
    """CustomEmojiResponse (api.md 1.9), also the ``emoji`` of EmojiCreated."""
    return {
        "id": str(emoji.id),
        "server_id": str(emoji.server_id),
        "name": emoji.name,
        "uploaded_by": str(emoji.uploaded_by_id) if emoji.uploaded_by_id else None,
        "animated": emoji.animated,
        "image_url": f"/api/v1/servers/{emoji.server_id}/emojis/{emoji.id}/image",
        "created_at": ts(emoji.created_at),
    }
