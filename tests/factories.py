"""Test data, built the way the server builds it: through the actions (``do_*``) wherever an
action makes exactly the state a test needs, so that fixtures cannot drift from what clients can
produce. A few builders write rows directly, each saying why (a state no single action makes,
such as a DM in a chosen status).

REST helpers (a client with named users) are in ``tests.helpers``; the REST versions of some of
these steps (``create_server``, ``join``, ``grant`` through the endpoints) are in
``tests/chat/conftest.py``. ``tests.helpers.b64`` is the one base64 helper.

    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)                 # fx.server, fx.everyone (@everyone), fx.channel
    add_member(fx.server, bob)
    add_role(fx.server, bob, Permission.MANAGE_MESSAGES)
    message = post(fx.channel, alice)
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.test import TestCase
from PIL import Image

from accounts.models import User
from chat.actions import channels, friends, moderation, overwrites, roles, servers
from chat.actions.message_store import insert_message
from chat.models import (
    Attachment,
    Channel,
    ChannelMember,
    ChannelType,
    DmStatus,
    Friendship,
    FriendshipStatus,
    Message,
    PermissionOverwrite,
    Role,
    Server,
    ServerMember,
    TargetType,
)
from chat.permissions import DEFAULT_EVERYONE, Permission
from realtime.events import CapturedEvent, capture_events
from tests.helpers import Api, b64

UserRef = User | uuid.UUID | str | Any  # a User, an id, or a TestUser (its ``.id``)


def uid(ref: UserRef) -> uuid.UUID:
    if isinstance(ref, User):
        return ref.id
    if isinstance(ref, uuid.UUID):
        return ref
    return uuid.UUID(str(getattr(ref, "id", ref)))


def user(ref: UserRef) -> User:
    return ref if isinstance(ref, User) else User.objects.get(id=uid(ref))


@contextmanager
def published() -> Iterator[list[CapturedEvent]]:
    """Events published inside the block, delivered as on commit (the test's transaction never
    commits, so the on-commit hooks run when the block ends; assert after it)."""
    with capture_events() as events, TestCase.captureOnCommitCallbacks(execute=True):
        yield events


def users(api: Api, *names: str) -> list[User]:
    """Register each name through the real endpoint and return the User rows."""
    return [User.objects.get(id=api.register(name).id) for name in names]


# --- Servers, channels, roles ------------------------------------------------------------------


@dataclass
class ServerFixture:
    server: Server
    everyone: Role
    channel: Channel  # the text channel every new server has (also its system channel)


def make_server(owner: UserRef, *, everyone: int = DEFAULT_EVERYONE) -> ServerFixture:
    """``do_create_server``: the owner as member, @everyone, a text channel that is the system
    channel; then @everyone's permissions when other than the default."""
    owner = user(owner)
    server = servers.do_create_server(owner, b64(b"meta")).server
    role = Role.objects.get(server=server, is_default=True)
    channel = server.system_channel
    assert channel is not None
    if everyone != DEFAULT_EVERYONE:
        set_everyone(ServerFixture(server, role, channel), everyone)
    return ServerFixture(server, role, channel)


def set_everyone(fixture: ServerFixture, permissions: int) -> None:
    """``do_update_role`` on @everyone, as the owner."""
    fields = roles.RoleFields(permissions=str(int(permissions)))
    roles.do_update_role(fixture.server.owner, fixture.server.id, fixture.everyone.id, fields)
    fixture.everyone.refresh_from_db()


def add_channel(
    server: Server,
    kind: str = ChannelType.TEXT,
    *,
    private: bool = False,
    hidden: bool | None = None,
    position: int = 0,
) -> Channel:
    """``do_create_channel`` as the owner (who becomes its first channel member). A private
    channel is also ``hidden`` from @everyone (an overwrite denying VIEW_CHANNELS) unless
    ``hidden=False``: the flag alone hides nothing (docs/api-servers.md)."""
    new = channels.NewChannel(
        encrypted_meta=b64(b"chan"), channel_type=kind, position=position, is_private=private
    )
    channel = channels.do_create_channel(server.owner, server.id, new)
    if private if hidden is None else hidden:
        everyone = Role.objects.get(server=server, is_default=True)
        add_overwrite(channel, TargetType.ROLE, everyone.id, deny=Permission.VIEW_CHANNELS)
    return channel


def text_channel(server: Server) -> Channel:
    """The server's first text channel."""
    channel = Channel.objects.filter(server=server, channel_type=ChannelType.TEXT).first()
    assert channel is not None
    return channel


def add_member(server: Server, member: UserRef) -> ServerMember:
    """A membership row and nothing else. Written directly: the only action that adds a member,
    joining by invite, also joins its channels and announces the join (a system message and
    MemberJoined); tests of that path use ``join`` (tests/chat/conftest.py)."""
    return ServerMember.objects.create(server=server, user_id=uid(member))


def add_role(server: Server, member: UserRef, permissions: int, *, position: int = 1) -> Role:
    """``do_create_role`` and ``do_assign_role`` as the owner: a role holding ``permissions`` at
    ``position``, assigned to ``member``."""
    fields = roles.RoleFields(
        name=f"role{position}-{uuid.uuid4().hex[:6]}",
        permissions=str(int(permissions)),
        position=position,
    )
    role = roles.do_create_role(server.owner, server.id, fields)
    roles.do_assign_role(server.owner, server.id, uid(member), role.id)
    return role


def add_overwrite(
    channel: Channel, target_type: str, target_id: uuid.UUID, *, allow: int = 0, deny: int = 0
) -> PermissionOverwrite:
    """``do_set_overwrite`` as the server's owner."""
    assert channel.server_id is not None, "overwrites belong to server channels"
    owner = Server.objects.get(id=channel.server_id).owner
    return overwrites.do_set_overwrite(
        owner,
        channel.id,
        target_type=target_type,
        target_id=target_id,
        allow_bits=str(int(allow)),
        deny_bits=str(int(deny)),
    )


def time_out(server: Server, member: UserRef, *, minutes: int = 10) -> None:
    """``do_timeout`` as the owner."""
    moderation.do_timeout(server.owner, server.id, uid(member), minutes * 60, None)


# --- People --------------------------------------------------------------------------------------


def befriend(a: User, b: User, *, accepted: bool = True) -> Friendship:
    """``do_send_request`` from ``a``, and ``do_accept`` by ``b`` unless ``accepted=False``."""
    result = friends.do_send_request(a, b.username)
    friendship = result.friendship
    if accepted and friendship.status != FriendshipStatus.ACCEPTED:
        friendship = friends.do_accept(b, friendship.id)
    return friendship


def make_dm(
    *members: UserRef,
    status: str = DmStatus.ACTIVE,
    initiator: UserRef | None = None,
    group: bool = False,
) -> Channel:
    """A DM (or with ``group=True`` a group DM) of ``members``. Written directly: the actions
    (``do_open_dm``, ``do_open_group``) decide the status from privacy settings and friendships,
    and tests here need a chosen status between any users."""
    channel = Channel.objects.create(
        channel_type=ChannelType.GROUP if group else ChannelType.DM,
        encrypted_meta=b"group" if group else b"dm",
        dm_status=status,
        dm_initiator_id=uid(initiator) if initiator is not None else None,
    )
    ChannelMember.objects.bulk_create(
        [ChannelMember(channel=channel, user_id=uid(m)) for m in members]
    )
    return channel


# --- Messages and files --------------------------------------------------------------------------


def post(
    channel: Channel,
    sender: UserRef | None,
    body: bytes = b"hello",
    *,
    expires_at: datetime | None = None,
    **extra: Any,
) -> Message:
    """A stored message and no event, through ``insert_message``, the store helper the send
    actions use (``do_send_message`` is exercised by the message tests themselves)."""
    return insert_message(
        channel,
        sender_id=uid(sender) if sender is not None else None,
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


def link(attachment_id: Any, message: Message) -> Attachment:
    """Attach an uploaded file to a message, as a send with ``attachment_ids`` does."""
    attachment = Attachment.objects.get(id=uid(attachment_id))
    attachment.message = message
    attachment.save(update_fields=["message"])
    message.has_attachments = True
    message.save(update_fields=["has_attachments"])
    return attachment


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (16, 16), **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt, **save)
    return buffer.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("P", (8, 8), i) for i in range(frames)]
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=50, loop=0)
    return buffer.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
GIF = image_bytes("GIF")
WEBP = image_bytes("WEBP")
