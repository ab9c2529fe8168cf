"""Routes for stored files: attachments (api.md 2.21), server icons (2.6), custom emojis (2.19)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import attachments, emojis, icons
from chat.shapes import emoji_shape
from haven_site import blobs
from haven_site.api.errors import ApiError, NotFound
from haven_site.api.fields import Str
from haven_site.api.parsing import Body, parse_body, query_str
from haven_site.api.views import ApiView
from haven_site.media import image_response, read_body

logger = logging.getLogger("haven.files")

ONE_DAY = 86400
DOWNLOAD_BATCH = 16  # chunks decrypted per worker-thread hop (16 x 64 KiB = 1 MiB)

if TYPE_CHECKING:
    from rest_framework.authentication import BaseAuthentication


class EmojiRenameBody(Body):
    name = Str()


def _declared_length(request: Request) -> int | None:
    value = request.META.get("CONTENT_LENGTH")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


class AttachmentUploadView(ApiView):
    def post(self, request: Request) -> Response:
        attachments.check_upload(self.user, _declared_length(request))
        # Read from the (spooled) request stream in chunks; never request.body.
        attachment = attachments.do_upload(self.user, request._request)
        return Response(
            {"attachment_id": str(attachment.id), "storage_key": attachment.storage_key}
        )


def _read_batch(reader: blobs.StreamReader) -> bytes | None:
    parts: list[bytes] = []
    for _ in range(DOWNLOAD_BATCH):
        chunk = reader.read_chunk()
        if chunk is None:
            break
        parts.append(chunk)
    return b"".join(parts) if parts else None


async def _decrypted(reader: blobs.StreamReader, first: bytes) -> AsyncIterator[bytes]:
    """Decrypt chunk batches in a worker thread as the client reads them; the ASGI server's
    back-pressure (haven_site.serve) keeps at most a few batches in memory."""
    try:
        if first:
            yield first
        while True:
            try:
                batch = await asyncio.to_thread(_read_batch, reader)
            except blobs.BlobError:
                logger.error("Attachment blob failed to open mid-stream; download cut short")
                raise
            if batch is None:
                return
            yield batch
    finally:
        reader.close()


class AttachmentView(ApiView):
    def get(self, request: Request, attachment_id: uuid.UUID) -> StreamingHttpResponse:
        attachment = attachments.check_download(self.user, attachment_id)
        try:
            reader = blobs.StreamReader(attachment.storage_key)
            first = reader.read_chunk() or b""
        except blobs.BlobMissing:
            logger.error("Attachment %s has a row but no blob", attachment.id)
            raise NotFound("Attachment file not found") from None
        except blobs.BlobError:
            logger.error("Attachment %s blob does not open", attachment.id)
            raise ApiError("Internal server error", 500) from None
        response = StreamingHttpResponse(
            _decrypted(reader, first), content_type="application/octet-stream"
        )
        if attachment.size:
            response["Content-Length"] = str(attachment.size)
        return response


class ServerIconView(ApiView):
    # GET is anonymous (api.md 1.2), POST and DELETE are not.
    def get_authenticators(self) -> list[BaseAuthentication]:
        if self.request.method == "GET":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self.request.method == "GET":
            return []
        return super().get_permissions()

    def get(self, request: Request, server_id: uuid.UUID) -> HttpResponse:
        key = icons.check_icon(server_id)
        return image_response(key, missing="Icon file not found", max_age=ONE_DAY)

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        server = icons.check_upload_icon(self.user, server_id)
        url = icons.do_set_icon(server, read_body(request, icons.ICON_LIMIT))
        return Response({"icon_url": url})

    def delete(self, request: Request, server_id: uuid.UUID) -> Response:
        server = icons.check_manage_icon(self.user, server_id)
        icons.do_delete_icon(server)
        return Response({"ok": True})


class EmojisView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        return Response([emoji_shape(e) for e in emojis.list_emojis(self.user, server_id)])

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        name = query_str(request.query_params, "name", required=True)
        assert name is not None
        data = read_body(request, emojis.EMOJI_LIMIT)
        emoji = emojis.do_create_emoji(self.user, server_id, name, data)
        return Response(emoji_shape(emoji))


class EmojiView(ApiView):
    def patch(self, request: Request, server_id: uuid.UUID, emoji_id: uuid.UUID) -> Response:
        body = parse_body(request, EmojiRenameBody)
        emoji = emojis.do_rename_emoji(self.user, server_id, emoji_id, body["name"])
        return Response(emoji_shape(emoji))

    def delete(self, request: Request, server_id: uuid.UUID, emoji_id: uuid.UUID) -> Response:
        emojis.do_delete_emoji(self.user, server_id, emoji_id)
        return Response(status=204)


class EmojiImageView(ApiView):
    public = True

    def get(self, request: Request, server_id: uuid.UUID, emoji_id: uuid.UUID) -> HttpResponse:
        key = emojis.check_emoji_image(server_id, emoji_id)
        return image_response(key, missing="Emoji file not found", max_age=ONE_DAY, webp=False)
