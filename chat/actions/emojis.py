"""Custom emojis (api.md 2.19): per-server images with names, limits and events."""

from __future__ import annotations

import re
import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.access import NOT_SERVER_MEMBER, SERVER_NOT_FOUND, access_server, check_not_timed_out
from chat.models import CustomEmoji, Server
from chat.permissions import Permission
from chat.shapes import emoji_shape
from haven_site import blobs, images
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from haven_site.media import KIB, image_upload
from haven_site.ratelimit import check_write_limit
from realtime.events import publish, to_servers

EMOJI_LIMIT = 256 * KIB
MAX_STATIC = 25
MAX_ANIMATED = 10
EMOJI_FORMATS = (images.PNG, images.JPEG, images.GIF)
BAD_FORMAT = "Invalid image format. Only PNG, JPEG, and GIF are supported"
_NAME = re.compile(r"[A-Za-z0-9_]+")


def check_name(raw: str) -> str:
    """Trimmed; 2-64 characters of ASCII letters, digits and ``_`` (renames included)."""
    name = raw.strip()
    if len(name) < 2:
        raise BadRequest("Emoji name must be at least 2 characters")
    if len(name) > 64:
        raise BadRequest("Emoji name is too long (max 64 characters)")
    if not _NAME.fullmatch(name) or not name.isascii():
        raise BadRequest("Emoji name can only contain letters, numbers, and underscores")
    return name


def _duplicate(name: str) -> BadRequest:
    return BadRequest(f"An emoji named '{name}' already exists in this server")


def list_emojis(user: User, server_id: uuid.UUID) -> list[CustomEmoji]:
    try:
        access_server(user.id, server_id)
    except Forbidden as error:
        if error.message == NOT_SERVER_MEMBER:
            raise Forbidden("Not a server member") from None
        raise
    return list(CustomEmoji.objects.filter(server_id=server_id).order_by("created_at", "id"))


def check_manage_emojis(user: User, server_id: uuid.UUID) -> Server:
    return access_server(
        user.id, server_id, need=Permission.MANAGE_EMOJIS, missing_server=SERVER_NOT_FOUND
    ).server


def do_create_emoji(user: User, server_id: uuid.UUID, raw_name: str, data: bytes) -> CustomEmoji:
    """Order of checks as the spec: limiter, permission, name, image, slots, duplicate; a
    running timeout in the server refuses the upload after the permission check."""
    check_write_limit(user.id)
    check_manage_emojis(user, server_id)
    check_not_timed_out(user.id, server_id)
    name = check_name(raw_name)
    info = image_upload(
        data,
        limit=EMOJI_LIMIT,
        too_large="Emoji too large (max 256KB)",
        formats=EMOJI_FORMATS,
        bad_format=BAD_FORMAT,
    )
    animated = info.format == images.GIF  # the spec counts every GIF as animated
    emoji_id = uuid.uuid4()
    key = blobs.emoji_key(server_id, emoji_id)
    try:
        with transaction.atomic():
            # The server row lock serialises uploads, so two cannot both take the last slot.
            Server.objects.select_for_update().filter(pk=server_id).first()
            count = CustomEmoji.objects.filter(server_id=server_id, animated=animated).count()
            if animated and count >= MAX_ANIMATED:
                raise BadRequest(
                    f"Server has reached the animated emoji limit ({count}/{MAX_ANIMATED})"
                )
            if not animated and count >= MAX_STATIC:
                raise BadRequest(
                    f"Server has reached the static emoji limit ({count}/{MAX_STATIC})"
                )
            if CustomEmoji.objects.filter(server_id=server_id, name=name).exists():
                raise _duplicate(name)
            try:
                with transaction.atomic():
                    emoji = CustomEmoji.objects.create(
                        id=emoji_id,
                        server_id=server_id,
                        name=name,
                        uploaded_by=user,
                        animated=animated,
                    )
            except IntegrityError:
                raise _duplicate(name) from None
            blobs.write_small(key, data)
            publish(
                "EmojiCreated",
                {"server_id": str(server_id), "emoji": emoji_shape(emoji)},
                to_servers(server_id),
            )
    except BaseException:
        blobs.delete(key)
        raise
    return emoji


def do_rename_emoji(
    user: User, server_id: uuid.UUID, emoji_id: uuid.UUID, raw_name: str
) -> CustomEmoji:
    check_manage_emojis(user, server_id)
    name = check_name(raw_name)
    emoji = CustomEmoji.objects.filter(id=emoji_id, server_id=server_id).first()
    if emoji is None:
        raise NotFound("Emoji not found")
    if CustomEmoji.objects.filter(server_id=server_id, name=name).exclude(id=emoji_id).exists():
        raise _duplicate(name)
    emoji.name = name
    try:
        with transaction.atomic():
            emoji.save(update_fields=["name"])
    except IntegrityError:
        raise _duplicate(name) from None
    return emoji


def do_delete_emoji(user: User, server_id: uuid.UUID, emoji_id: uuid.UUID) -> None:
    """Only an emoji of this server is deleted (another server's answers 404, untouched)."""
    check_manage_emojis(user, server_id)
    with transaction.atomic():
        deleted, _ = CustomEmoji.objects.filter(id=emoji_id, server_id=server_id).delete()
        if not deleted:
            raise NotFound("Emoji not found")
        key = blobs.emoji_key(server_id, emoji_id)
        transaction.on_commit(lambda: blobs.delete(key), robust=True)
        publish(
            "EmojiDeleted",
            {"server_id": str(server_id), "emoji_id": str(emoji_id)},
            to_servers(server_id),
        )


def check_emoji_image(server_id: uuid.UUID, emoji_id: uuid.UUID) -> str:
    if not CustomEmoji.objects.filter(id=emoji_id, server_id=server_id).exists():
        raise NotFound("Emoji not found")
    return blobs.emoji_key(server_id, emoji_id)
