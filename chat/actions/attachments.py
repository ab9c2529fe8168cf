"""Attachment upload and download (api.md 2.21, operations.md 5.4).

Uploads stream from the request body into an encrypted blob, one chunk at a time, and create the
Attachment row bound to the uploader (``message`` stays null until a message links it). A
download is allowed to whoever can read a channel where the attachment was posted.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from chat.access import NOT_CHANNEL_MEMBER, access_channel
from chat.models import Attachment
from chat.permissions import Permission
from haven_site import blobs
from haven_site.api.errors import BadRequest, NotFound
from haven_site.ratelimit import check_write_limit

READ_SIZE = 256 * 1024
EMPTY = "Empty upload body"


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def _too_large() -> BadRequest:
    return BadRequest(f"File too large (max {settings.HAVEN.max_upload_size_bytes} bytes)")


def check_upload(user: User, declared_length: int | None) -> None:
    """Before the body is read, in the spec's order: write limiter, size, emptiness."""
    check_write_limit(user.id)
    if declared_length is not None and declared_length > settings.HAVEN.max_upload_size_bytes:
        raise _too_large()
    if declared_length == 0:
        raise BadRequest(EMPTY)


def do_upload(user: User, body: Readable) -> Attachment:
    """Encrypt the body into a new blob as it is read, then record the attachment."""
    maximum = settings.HAVEN.max_upload_size_bytes
    attachment_id = uuid.uuid4()
    key = blobs.attachment_key(attachment_id)
    with blobs.StreamWriter(key) as writer:
        while chunk := body.read(READ_SIZE):
            writer.write(chunk)
            if writer.size > maximum:
                raise _too_large()
        if writer.size == 0:
            raise BadRequest(EMPTY)
        writer.commit()
    try:
        return Attachment.objects.create(
            id=attachment_id, uploader=user, storage_key=key, size=writer.size
        )
    except BaseException:
        blobs.delete(key)
        raise


def check_download(user: User, attachment_id: uuid.UUID) -> Attachment:
    """The attachment, if it was posted in a message the user can read (READ_MESSAGE_HISTORY in
    that channel). Unknown and never-sent uploads look the same: 404 "Attachment not found"."""
    attachment = Attachment.objects.select_related("message").filter(id=attachment_id).first()
    if attachment is None or attachment.message_id is None:
        raise NotFound("Attachment not found")
    message = attachment.message
    if message is None or (message.expires_at is not None and message.expires_at <= timezone.now()):
        raise NotFound("Message not found")
    access_channel(
        user.id,
        message.channel_id,
        need=Permission.READ_MESSAGE_HISTORY,
        missing_permission=NOT_CHANNEL_MEMBER,
    )
    return attachment
