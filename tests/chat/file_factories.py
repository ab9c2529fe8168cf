"""Rows for the files and voice tests, created directly with the ORM (the server, channel and
message routes belong to other parts of the port), plus small real images made with Pillow."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from chat.actions.message_store import insert_message
from chat.models import (
    Attachment,
    Channel,
    ChannelMember,
    MemberRole,
    Message,
    Role,
    Server,
    ServerMember,
)
from chat.permissions import DEFAULT_EVERYONE


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """A private MEDIA_ROOT for one test."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def uid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def make_server(owner: Any, *, everyone: int = DEFAULT_EVERYONE) -> Server:
    """A server with its owner as member, an @everyone role and a text channel."""
    server = Server.objects.create(owner_id=uid(owner), encrypted_meta=b"meta")
    ServerMember.objects.create(server=server, user_id=uid(owner))
    Role.objects.create(server=server, name="@everyone", permissions=everyone, is_default=True)
    text = Channel.objects.create(server=server, channel_type="text")
    ChannelMember.objects.create(channel=text, user_id=uid(owner))
    server.system_channel = text
    server.save(update_fields=["system_channel"])
    return server


def add_member(server: Server, user: Any) -> None:
    ServerMember.objects.create(server=server, user_id=uid(user))


def grant(server: Server, user: Any, permissions: int, *, position: int = 1) -> Role:
    role = Role.objects.create(
        server=server, name=f"role-{uuid.uuid4().hex[:6]}", permissions=permissions,
        position=position,
    )  # fmt: skip
    MemberRole.objects.create(server=server, user_id=uid(user), role=role)
    return role


def make_channel(server: Server, kind: str = "voice", *, private: bool = False) -> Channel:
    return Channel.objects.create(server=server, channel_type=kind, is_private=private)


def text_channel(server: Server) -> Channel:
    channel = Channel.objects.filter(server=server, channel_type="text").first()
    assert channel is not None
    return channel


def make_dm(*users: Any, group: bool = False) -> Channel:
    channel = Channel.objects.create(server=None, channel_type="group" if group else "dm")
    for user in users:
        ChannelMember.objects.create(channel=channel, user_id=uid(user))
    return channel


def make_message(channel: Channel, sender: Any, **fields: Any) -> Message:
    return insert_message(
        channel, sender_id=uid(sender), sender_token=b"t", encrypted_body=b"b", **fields
    )


def link(attachment_id: Any, message: Message) -> Attachment:
    attachment = Attachment.objects.get(id=uid(attachment_id))
    attachment.message = message
    attachment.save(update_fields=["message"])
    message.has_attachments = True
    message.save(update_fields=["has_attachments"])
    return attachment


# --- Images -----------------------------------------------------------------------------------


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
