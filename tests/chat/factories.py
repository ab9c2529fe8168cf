"""Test-only factories that create chat rows directly with the ORM (servers, channels, members,
roles, overwrites, DMs, friendships). The server and channel REST routes belong to another
module; these helpers give the conversation tests their fixtures without them."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.test import TestCase
from django.utils import timezone

from accounts.models import User
from chat.actions.message_store import insert_message
from chat.events import CapturedEvent, capture_events
from chat.models import (
    Channel,
    ChannelMember,
    ChannelType,
    DmStatus,
    Friendship,
    FriendshipStatus,
    MemberRole,
    Message,
    PermissionOverwrite,
    Role,
    Server,
    ServerMember,
    TargetType,
)
from chat.permissions import DEFAULT_EVERYONE, Permission
from tests.helpers import Api


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@contextmanager
def published() -> Iterator[list[CapturedEvent]]:
    """Events published inside the block, delivered as on commit (the test's transaction never
    commits, so the on-commit hooks run when the block ends; assert after it)."""
    with capture_events() as events, TestCase.captureOnCommitCallbacks(execute=True):
        yield events


def users(api: Api, *names: str) -> list[User]:
    """Register each name through the real endpoint and return the User rows."""
    return [User.objects.get(id=api.register(name).id) for name in names]


@dataclass
class ServerFixture:
    server: Server
    everyone: Role
    channel: Channel


def make_server(owner: User, *, everyone: int = DEFAULT_EVERYONE) -> ServerFixture:
    """A server with its owner as member, an @everyone role and one text channel."""
    server = Server.objects.create(owner=owner, encrypted_meta=b"meta")
    ServerMember.objects.create(server=server, user=owner)
    role = Role.objects.create(
        server=server, name="@everyone", permissions=everyone, position=0, is_default=True
    )
    channel = add_channel(server)
    ChannelMember.objects.create(channel=channel, user=owner)
    return ServerFixture(server, role, channel)


def add_channel(server: Server, *, private: bool = False, position: int = 0) -> Channel:
    channel = Channel.objects.create(
        server=server, encrypted_meta=b"chan", channel_type=ChannelType.TEXT, position=position
    )
    if private:
        channel.is_private = True
        channel.save(update_fields=["is_private"])
        everyone = Role.objects.get(server=server, is_default=True)
        add_overwrite(channel, TargetType.ROLE, everyone.id, deny=Permission.VIEW_CHANNELS)
    return channel


def add_member(server: Server, user: User) -> ServerMember:
    return ServerMember.objects.create(server=server, user=user)


def add_role(server: Server, user: User, permissions: int, *, position: int = 1) -> Role:
    role = Role.objects.create(
        server=server, name=f"role{position}", permissions=permissions, position=position
    )
    MemberRole.objects.create(server=server, user=user, role=role)
    return role


def add_overwrite(
    channel: Channel, target_type: str, target_id: uuid.UUID, *, allow: int = 0, deny: int = 0
) -> PermissionOverwrite:
    return PermissionOverwrite.objects.create(
        channel=channel,
        target_type=target_type,
        target_id=target_id,
        allow_bits=int(allow),
        deny_bits=int(deny),
    )


def set_everyone(fixture: ServerFixture, permissions: int) -> None:
    fixture.everyone.permissions = int(permissions)
    fixture.everyone.save(update_fields=["permissions"])


def time_out(server: Server, user: User, *, minutes: int = 10) -> None:
    ServerMember.objects.filter(server=server, user=user).update(
        timed_out_until=timezone.now() + timedelta(minutes=minutes)
    )


def make_dm(
    a: User, b: User, *, status: str = DmStatus.ACTIVE, initiator: User | None = None
) -> Channel:
    channel = Channel.objects.create(
        channel_type=ChannelType.DM,
        encrypted_meta=b"dm",
        dm_status=status,
        dm_initiator=initiator,
    )
    ChannelMember.objects.bulk_create(
        [ChannelMember(channel=channel, user=a), ChannelMember(channel=channel, user=b)]
    )
    return channel


def make_group(*members: User) -> Channel:
    channel = Channel.objects.create(channel_type=ChannelType.GROUP, encrypted_meta=b"group")
    ChannelMember.objects.bulk_create([ChannelMember(channel=channel, user=m) for m in members])
    return channel


def befriend(a: User, b: User, *, accepted: bool = True) -> Friendship:
    return Friendship.objects.create(
        requester=a,
        addressee=b,
        status=FriendshipStatus.ACCEPTED if accepted else FriendshipStatus.PENDING,
    )


def post(
    channel: Channel,
    sender: User | None,
    body: bytes = b"hello",
    *,
    expires_at: datetime | None = None,
    **extra: Any,
) -> Message:
    """A stored message (no event), through the shared store helper."""
    return insert_message(
        channel,
        sender=sender,
        sender_token=b"token",
        encrypted_body=body,
        expires_at=expires_at,
        **extra,
    )


def send_body(channel_id: uuid.UUID | str, **extra: Any) -> dict[str, Any]:
    """A valid REST send body."""
    return {
        "channel_id": str(channel_id),
        "sender_token": b64(b"sealed-sender"),
        "encrypted_body": b64(b"ciphertext"),
        "has_attachments": False,
        **extra,
    }
