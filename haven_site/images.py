"""Checks for uploaded images (avatars, banners, server icons, custom emojis).

Two layers: the magic bytes the spec names (api.md 2.4, 2.19) decide the type, and Pillow then
parses the file's headers and structure to confirm it really is an image of that type with sane
dimensions. Pillow (a dependency for this alone) is the maintained, fuzzed parser for these
formats; hand-written header parsers for four formats would be more code to get wrong. Images are
never decoded in full: ``verify()`` walks the structure (PNG chunk CRCs, GIF blocks, JPEG markers)
without allocating pixels, and the dimension limits below keep a "decompression bomb" out.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

PNG, JPEG, GIF, WEBP = "png", "jpeg", "gif", "webp"
CONTENT_TYPES = {PNG: "image/png", JPEG: "image/jpeg", GIF: "image/gif", WEBP: "image/webp"}
_PILLOW_FORMATS = {PNG: "PNG", JPEG: "JPEG", GIF: "GIF", WEBP: "WEBP"}

MAX_SIDE = 8192  # pixels, either dimension
MAX_PIXELS = 40_000_000


def sniff(data: bytes, *, webp: bool = True) -> str | None:
    """The format named by the file's magic bytes (api.md 2.4), or None."""
    if data.startswith(b"\x89PNG"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"GIF8"):
        return GIF
    if webp and len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def content_type(data: bytes, *, webp: bool = True) -> str:
    """Content-Type of the public image routes: sniffed, else ``application/octet-stream``."""
    kind = sniff(data, webp=webp)
    return CONTENT_TYPES[kind] if kind else "application/octet-stream"


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    frames: int


class InvalidImage(Exception):
    pass


def inspect(data: bytes, allowed: tuple[str, ...]) -> ImageInfo:
    """Confirm that ``data`` is a well-formed image of one of ``allowed`` formats.

    Raises InvalidImage when the magic bytes name another format, when Pillow cannot parse it as
    the format the magic bytes claim, when its structure is broken, or when its dimensions are
    zero or beyond the limits."""
    from PIL import Image, UnidentifiedImageError  # on first use (docs/performance.md)

    kind = sniff(data)
    if kind is None or kind not in allowed:
        raise InvalidImage("unsupported format")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
                width, height = image.size
                frames = int(getattr(image, "n_frames", 1) or 1)
                if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                    raise InvalidImage("bad dimensions")
                if width * height > MAX_PIXELS:
                    raise InvalidImage("too many pixels")
            with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[kind]]) as image:
                image.verify()
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("not an image") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
        raise InvalidImage("broken image") from None
    return ImageInfo(kind, width, height, frames)
