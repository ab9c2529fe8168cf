"""Server channels (api.md 2.7) and a channel's category (2.8, PUT /channels/{id}/category)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chat.access import (
    CHANNEL_NOT_FOUND,
    NOT_CHANNEL_MEMBER,
    SERVER_NOT_FOUND,
    access_channel,
    access_server,
    access_server_channel,
    can_view,
    server_permissions,
    visible_channels,
)
from chat.actions.audit import record_audit
from chat.actions.dms import do_rename_group
from chat.actions.notify import notify_channel_deleted, notify_server_updated
from chat.actions.servers import decode_meta
from chat.models import Channel, ChannelCategory, ChannelMember, ChannelType, Report, Server
from chat.permissions import Permission, permissions_in_channel
from chat.storage import delete_message_files_on_commit
from haven_site.api.errors import BadRequest, Forbidden, NotFound

SERVER_CHANNEL_TYPES = (ChannelType.TEXT, ChannelType.VOICE)


@dataclass(frozen=True)
class NewChannel:
    encrypted_meta: str
    channel_type: str | None = None
    position: int | None = None
    category_id: uuid.UUID | None = None
    is_private: bool | None = None


def list_channels(user: User, server_id: uuid.UUID) -> list[Channel]:
    """MEMBER; the channels the caller can see (VIEW_CHANNELS after overwrites), by position."""
    access = access_server(user.id, server_id)
    return [channel for channel, _ in visible_channels(user.id, access)]


def category_of_server(server: Server, category_id: uuid.UUID) -> ChannelCategory:
    """A category for a channel: ``404 Category not found`` when missing, ``403 Category does not
    belong to this server`` when it is another server's (never linked across servers)."""
    category = ChannelCategory.objects.filter(id=category_id).first()
    if category is None:
        raise NotFound("Category not found")
    if category.server_id != server.id:
        raise Forbidden("Category does not belong to this server")
    return category


def do_create_channel(user: User, server_id: uuid.UUID, new: NewChannel) -> Channel:
    access = access_server(
        user.id, server_id, need=Permission.MANAGE_CHANNELS, missing_server=SERVER_NOT_FOUND
    )
    meta = decode_meta(new.encrypted_meta)
    channel_type = new.channel_type if new.channel_type is not None else ChannelType.TEXT
    if channel_type not in SERVER_CHANNEL_TYPES:
        raise BadRequest("channel_type must be 'text' or 'voice'")
    category = None
    if new.category_id is not None:
        category = category_of_server(access.server, new.category_id)
    with transaction.atomic():
        channel = Channel.objects.create(
            server=access.server,
            encrypted_meta=meta,
            channel_type=channel_type,
            position=new.position or 0,
            category=category,
            is_private=bool(new.is_private),
        )
        ChannelMember.objects.create(channel=channel, user=user)
        record_audit(
            access.server.id,
            user.id,
            "channel_create",
            "channel",
            channel.id,
            {"channel_type": channel_type},
        )
        notify_server_updated(access.server.id)
    return channel


def do_reorder_channels(user: User, server_id: uuid.UUID, order: list[dict[str, Any]]) -> None:
    """Entries for channels of other servers (or that the caller cannot see) are ignored."""
    access = access_server(
        user.id, server_id, need=Permission.MANAGE_CHANNELS, missing_server=SERVER_NOT_FOUND
    )
    mine = {channel.id: channel for channel, _ in visible_channels(user.id, access)}
    wanted: set[uuid.UUID] = {
        e["category_id"] for e in order if e["id"] in mine and e.get("category_id") is not None
    }
    categories = set(
        ChannelCategory.objects.filter(id__in=wanted, server=access.server).values_list(
            "id", flat=True
        )
    )
    for category_id in wanted - categories:
        category_of_server(access.server, category_id)  # raises 404 or 403
    changed: dict[uuid.UUID, Channel] = {}
    for entry in order:
        channel = mine.get(entry["id"])
        if channel is None:
            continue
        channel.position = entry["position"]
        channel.category_id = entry.get("category_id")
        changed[channel.id] = channel
    with transaction.atomic():
        Channel.objects.bulk_update(list(changed.values()), ["position", "category"])
        notify_server_updated(access.server.id)


def do_rename_channel(user: User, channel_id: uuid.UUID, encrypted_meta: str) -> Channel:
    """A server channel (api.md 2.7), or a group DM: a port addition that any participant may
    make (``do_rename_group``). One-to-one DMs keep the spec's ``403 Cannot rename DM channels``."""
    if Channel.objects.filter(id=channel_id, channel_type=ChannelType.GROUP).exists():
        return do_rename_group(user, channel_id, encrypted_meta)
    access = access_server_channel(
        user.id,
        channel_id,
        direct_message="Cannot rename DM channels",
        need=Permission.MANAGE_CHANNELS,
    )
    channel = access.channel
    channel.encrypted_meta = decode_meta(encrypted_meta)
    with transaction.atomic():
        channel.save(update_fields=["encrypted_meta"])
        assert channel.server_id is not None
        record_audit(channel.server_id, user.id, "channel_update", "channel", channel.id)
        notify_server_updated(channel.server_id)
    return channel


def do_delete_channel(user: User, channel_id: uuid.UUID) -> None:
    """The channel with everything in it (cascade; reports have no foreign key, so they are
    deleted here). Connections subscribed to it are told to re-check (they lose it)."""
    access = access_server_channel(
        user.id,
        channel_id,
        direct_message="Cannot delete DM channels",
        need=Permission.MANAGE_CHANNELS,
    )
    channel = access.channel
    server_id = channel.server_id
    assert server_id is not None
    with transaction.atomic():
        Report.objects.filter(channel_id=channel.id).delete()
        delete_message_files_on_commit(channel=channel)
        channel.delete()
        record_audit(server_id, user.id, "channel_delete", "channel", channel_id)
        notify_channel_deleted(server_id, channel_id)


def do_join_channel(user: User, channel_id: uuid.UUID) -> None:
    """Upsert the caller's channel_members row (re-joining refreshes ``joined_at``).

    Server channel: server members who can see it. DM/group channel: only its participants,
    for whom it is a no-op."""
    channel = Channel.objects.select_related("server").filter(id=channel_id).first()
    if channel is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    if channel.server is None:
        if not ChannelMember.objects.filter(channel=channel, user=user).exists():
            raise Forbidden(NOT_CHANNEL_MEMBER)
    else:
        perms = server_permissions(user.id, channel.server)
        if not perms.is_member:
            raise Forbidden("Not a member of the server")
        if not can_view(permissions_in_channel(user.id, channel, perms)):
            raise NotFound(CHANNEL_NOT_FOUND)
    with transaction.atomic():
        refreshed = ChannelMember.objects.filter(channel=channel, user=user).update(
            joined_at=timezone.now()
        )
        if not refreshed:
            try:
                with transaction.atomic():
                    ChannelMember.objects.create(channel=channel, user=user)
            except IntegrityError:  # a concurrent join made it first
                pass


def channel_members(user: User, channel_id: uuid.UUID) -> list[ChannelMember]:
    """ACCESS; the explicit channel_members rows by ``joined_at``. Two queries."""
    access = access_channel(user.id, channel_id)
    return list(
        ChannelMember.objects.filter(channel=access.channel)
        .select_related("user")
        .order_by("joined_at", "id")
    )


def do_set_channel_category(
    user: User, channel_id: uuid.UUID, category_id: uuid.UUID | None
) -> Channel:
    access = access_server_channel(
        user.id,
        channel_id,
        direct_message="Cannot set category on DM channels",
        need=Permission.MANAGE_CHANNELS,
    )
    channel = access.channel
    assert channel.server is not None
    category = category_of_server(channel.server, category_id) if category_id else None
    channel.category = category
    with transaction.atomic():
        channel.save(update_fields=["category"])
        notify_server_updated(channel.server.id)
    return channel
