"""Wire encodings shared by REST and WebSocket: strict base64, RFC 3339 times, permissions."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from haven_site.api.errors import BadRequest


def b64decode_strict(text: str) -> bytes | None:
    """Standard alphabet, mandatory padding, canonical trailing bits; None when invalid."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode() == text else None


def decode_b64(text: str, message: str) -> bytes:
    """Decode a client-supplied base64 field or answer 400 with the route's message."""
    raw = b64decode_strict(text)
    if raw is None:
        raise BadRequest(message)
    return raw


def b64(raw: bytes | memoryview | None) -> str | None:
    if raw is None:
        return None
    # base64.b64encode's own work, without its Python wrapper (a history page encodes 100)
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def ts(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z`` suffix; microseconds only when non-zero (api.md 1.5)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ts_offset(moment: datetime) -> str:
    """The ``+00:00`` form that the spec keeps for BanResponse.created_at."""
    return moment.astimezone(UTC).isoformat()


def perm(bits: int) -> str:
    """Permission bitfields travel as decimal strings (JavaScript cannot hold 64-bit integers)."""
    return str(bits)


def parse_perm(text: str) -> int | None:
    """A signed 64-bit decimal: optional sign, digits only, no whitespace."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit() or len(body) > 19:  # 2**63 has 19 digits
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None
