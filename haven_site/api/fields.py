"""Strict serializer fields for request bodies.

A JSON value of the wrong type (a number where a string is expected, a string for a bool) is
rejected, not coerced as DRF's default fields would. Their failures become 422 in
``haven_site.api.parsing`` (api.md 1.3).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from rest_framework import serializers

I32 = (-(2**31), 2**31 - 1)
I64 = (-(2**63), 2**63 - 1)

# A field class, for helpers that build a field with options (``nullable(Str)`` is a ``Str``).
FieldT = TypeVar("FieldT", bound="serializers.Field[Any, Any, Any, Any]")


class StrictField(serializers.Field[Any, Any, Any, Any]):
    """Input-only field: the value must already have the right JSON type. ``openapi`` is its
    JSON Schema in the API description (haven_site.api.openapi); response components reuse the
    same fields so that one vocabulary describes both directions."""

    openapi: dict[str, Any] = {}

    def to_representation(self, value: Any) -> Any:
        return value

    def openapi_schema(self) -> dict[str, Any]:
        return dict(self.openapi)

    def fail_type(self, expected: str) -> NoReturn:
        raise serializers.ValidationError(f"invalid type: expected {expected}")


NUL_MESSAGE = "invalid value: a NUL character"


def has_nul(text: str) -> bool:
    """PostgreSQL text cannot hold U+0000: such input is refused where it is parsed (400/422),
    instead of failing in the database (500)."""
    return "\x00" in text


class Str(StrictField):
    """A JSON string, kept exactly as sent (no trimming); no NUL character."""

    openapi = {"type": "string"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail_type("a string")
        if has_nul(data):
            raise serializers.ValidationError(NUL_MESSAGE)
        return str(data)


class B64(Str):
    """Base64 text (standard alphabet, padded). Parsed as a string: the action decodes it, so that
    a bad encoding gets the route's own 400 message after the access checks (api.md 1.3)."""

    openapi = {"type": "string", "format": "byte"}


class Choice(Str):
    """One of a few words. Parsed as any string: the action refuses others with the route's own
    400 message; the description lists the words."""

    def __init__(self, *choices: str, **kwargs: Any) -> None:
        self.choices = choices
        super().__init__(**kwargs)

    def openapi_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


class Perm(Str):
    """A permission bitfield as a decimal string (api.md 1.5); the action parses it."""

    openapi = {"type": "string", "pattern": "^[+-]?[0-9]+$"}


class Int(StrictField):
    """A JSON integer (not a bool, not a float, not a numeric string) within a signed range."""

    def __init__(self, *, bits: int = 32, **kwargs: Any) -> None:
        self.bounds = I64 if bits == 64 else I32
        super().__init__(**kwargs)

    def openapi_schema(self) -> dict[str, Any]:
        return {"type": "integer", "format": "int64" if self.bounds == I64 else "int32"}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            if isinstance(data, float) and data.is_integer():
                data = int(data)
            else:
                self.fail_type("an integer")
        low, high = self.bounds
        if not low <= data <= high:
            raise serializers.ValidationError(f"integer out of range [{low}, {high}]")
        return int(data)


class Number(StrictField):
    """A JSON number (integer or fraction)."""

    openapi = {"type": "number"}

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail_type("a number")
        try:
            return float(data)
        except OverflowError:  # an integer of hundreds of digits
            raise serializers.ValidationError("number out of range") from None


class Bool(StrictField):
    openapi = {"type": "boolean"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail_type("a boolean")
        return data


class Uuid(StrictField):
    """A UUID in any common textual form (hyphenated, simple, braced, urn:uuid:)."""

    openapi = {"type": "string", "format": "uuid"}

    def to_internal_value(self, data: Any) -> uuid.UUID:
        if not isinstance(data, str):
            self.fail_type("a UUID string")
        parsed = parse_uuid(data)
        if parsed is None:
            raise serializers.ValidationError(f"UUID parsing failed: {data!r}")
        return parsed


class Timestamp(StrictField):
    """An RFC 3339 timestamp that carries an offset, converted to UTC."""

    openapi = {"type": "string", "format": "date-time"}

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail_type("an RFC 3339 timestamp")
        parsed = parse_timestamp(data)
        if parsed is None:
            raise serializers.ValidationError(f"invalid RFC 3339 timestamp: {data!r}")
        return parsed


class ListOf(serializers.ListField):
    """A JSON array (never a single value) of one strict field type."""

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise serializers.ValidationError("invalid type: expected an array")
        return [self.child.run_validation(item) for item in data]


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip()) if text.strip() == text else None
    except (ValueError, AttributeError):
        return None


# RFC 3339's date-time (section 5.6): fromisoformat alone also takes ISO 8601's other forms
# (basic format, week dates, hours without minutes, a comma before the fraction, +0100).
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_timestamp(text: str) -> datetime | None:
    if not _RFC3339.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: its UTC falls outside years 1-9999
        return None
