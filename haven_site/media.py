"""Shared pieces of the raw-body image routes (avatars, banners, server icons, custom emojis):
reading a bounded body, validating the image, and serving the public GETs."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpResponse

from haven_site import blobs, images
from haven_site.api.errors import BadRequest, NotFound

logger = logging.getLogger("haven.media")

KIB = 1024
MIB = 1024 * KIB
NO_IMAGE = "No image data provided"
PROFILE_FORMATS = (images.PNG, images.JPEG, images.GIF, images.WEBP)
BAD_PROFILE_FORMAT = "Invalid image format. Only PNG, JPEG, GIF, and WebP are supported"
BAD_IMAGE = "Invalid image data"


def read_body(request: Any, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the raw body (one more than allowed, so the caller can tell
    "too large"). The edge guard has already refused bodies far above the route's limit."""
    django_request = getattr(request, "_request", request)
    data: bytes = django_request.read(limit + 1)
    return data


def image_upload(
    data: bytes,
    *,
    limit: int,
    too_large: str,
    formats: tuple[str, ...] = PROFILE_FORMATS,
    bad_format: str = BAD_PROFILE_FORMAT,
) -> images.ImageInfo:
    """The checks every image upload shares, in the spec's order: empty, too large, then format
    (magic bytes) and structure (Pillow)."""
    if not data:
        raise BadRequest(NO_IMAGE)
    if len(data) > limit:
        raise BadRequest(too_large)
    if images.sniff(data) not in formats:
        raise BadRequest(bad_format)
    try:
        return images.inspect(data, formats)
    except images.InvalidImage:
        raise BadRequest(BAD_IMAGE) from None


def image_response(key: str, *, missing: str, max_age: int, webp: bool = True) -> HttpResponse:
    """A public image: decrypted bytes, Content-Type sniffed from magic bytes, cacheable.

    A blob that is missing or does not open answers ``404 <missing>`` (operations.md 5.2); a
    blob that does not open is also logged, since it means tampering or a changed
    STORAGE_ENCRYPTION_KEY."""
    try:
        data = blobs.read_small(key)
    except blobs.BlobMissing:
        raise NotFound(missing) from None
    except blobs.BlobError:
        logger.error("Stored image %s does not open (tampered, or another storage key)", key)
        raise NotFound(missing) from None
    response = HttpResponse(data, content_type=images.content_type(data, webp=webp))
    response["Cache-Control"] = f"public, max-age={max_age}"
    return response
