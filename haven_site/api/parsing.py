"""Request parsing with the spec's statuses: 415 wrong content type, 400 malformed JSON,
422 wrong shape (missing field, null, wrong type), 400 unparsable query strings and path ids.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.http import HttpRequest, QueryDict
from rest_framework import serializers
from rest_framework.utils.serializer_helpers import BindingDict

from haven_site.api import strict_json
from haven_site.api.errors import BadRequest, Unprocessable, UnsupportedMediaType
from haven_site.api.fields import I64, NUL_MESSAGE, has_nul, parse_timestamp, parse_uuid


# The shape of a JSON request body, made of the strict fields of ``haven_site.api.fields``.
# ``parse_body`` validates a body into a dict: a Body is never bound to a model instance. (No
# docstring: the API description would show it on every body that inherits it.)
class Body(serializers.Serializer[None]):
    pass


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def read_json(request: HttpRequest) -> Any:
    if not _is_json(request.META.get("CONTENT_TYPE")):
        raise UnsupportedMediaType()
    try:
        return strict_json.loads(request.body)
    except strict_json.InvalidJson as error:
        raise BadRequest(f"Failed to parse the request body as JSON: {error}") from None


def parse_body(request: HttpRequest, schema: type[Body]) -> dict[str, Any]:
    """Validate a JSON object body against ``schema``; unknown fields are ignored."""
    data = read_json(request)
    if not isinstance(data, dict):
        raise Unprocessable(
            "Failed to deserialize the JSON body into the target type: expected an object"
        )
    serializer = schema(data=data)
    serializer.__dict__["fields"] = _fields(serializer)  # DRF's cached_property, filled cheaply
    if not serializer.is_valid():
        raise Unprocessable(
            "Failed to deserialize the JSON body into the target type: "
            + _first_error(serializer.errors)
        )
    validated: dict[str, Any] = dict(serializer.validated_data)
    for name, field in serializer.fields.items():
        validated.setdefault(
            name, field.default if field.default is not serializers.empty else None
        )
    return validated


# Schema -> its declared fields, built once (None: the schema nests serializers, see _fields).
_prototypes: dict[type[Body], dict[str, serializers.Field[Any, Any, Any, Any]] | None] = {}


def _fields(serializer: Body) -> BindingDict:
    """The schema's fields, bound to this serializer. DRF deep-copies every declared field for
    each serializer (re-running each field's constructor), a tenth of a small request's CPU;
    validating a body never changes a field, so a shallow copy of fields built once per schema
    is bound instead. Schemas that nest serializers keep DRF's own copies."""
    schema = type(serializer)
    if schema not in _prototypes:
        declared = serializer.get_fields()  # a deep copy of the declared fields
        nested = any(isinstance(f, serializers.BaseSerializer) for f in declared.values())
        _prototypes[schema] = None if nested else declared
    prototype = _prototypes[schema]
    if prototype is None:
        return serializer.fields
    fields = BindingDict(serializer)
    for name, field in prototype.items():
        clone = object.__new__(type(field))  # copy.copy, without its generic protocol
        clone.__dict__.update(field.__dict__)
        fields[name] = clone
    return fields


def _first_error(errors: Any, path: str = "") -> str:
    if isinstance(errors, dict):
        for key, value in errors.items():
            return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict | list):
            return _first_error(first, f"{path}[0]")
        message = str(first)
        if message == "This field is required.":
            message = "missing field"
        elif message == "This field may not be null.":
            message = "invalid type: null"
        return f"{path}: {message}"
    return path or "invalid body"


# --- Query strings -------------------------------------------------------------------------------


def _query_error(detail: str) -> BadRequest:
    return BadRequest(f"Failed to deserialize query string: {detail}")


def query_str(query: QueryDict, name: str, *, required: bool = False) -> str | None:
    value = query.get(name)
    if value is None and required:
        raise _query_error(f"missing field `{name}`")
    if value is not None and has_nul(value):
        raise _query_error(f"{name}: {NUL_MESSAGE}")
    return value


_INTEGER = re.compile(r"-?[0-9]+")


def query_int(query: QueryDict, name: str, default: int) -> int:
    value = query.get(name)
    if value is None or value == "":
        return default
    if not _INTEGER.fullmatch(value):  # int() would also take " 5", "+5" and "1_000"
        raise _query_error(f"{name}: invalid digit found in string")
    if len(value.lstrip("-")) > 19:  # beyond 64 bits (and int()'s 4,300-digit limit)
        raise _query_error(f"{name}: number too large to fit in target type")
    number = int(value)
    if not I64[0] <= number <= I64[1]:  # the spec's 64-bit integers; the database's limit too
        raise _query_error(f"{name}: number too large to fit in target type")
    return number


def query_count(query: QueryDict, name: str, default: int) -> int:
    """A ``limit`` or ``offset`` that is not clamped: a negative one is malformed (400)."""
    number = query_int(query, name, default)
    if number < 0:
        raise _query_error(f"{name}: must not be negative")
    return number


def query_uuid(query: QueryDict, name: str) -> uuid.UUID | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    parsed = parse_uuid(value)
    if parsed is None:
        raise _query_error(f"{name}: UUID parsing failed")
    return parsed


def query_timestamp(query: QueryDict, name: str) -> Any:
    value = query.get(name)
    if value is None or value == "":
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        raise _query_error(f"{name}: invalid RFC 3339 timestamp")
    return parsed


def offset_page(query: QueryDict, *, default: int = 50, maximum: int = 100) -> tuple[int, int]:
    """``limit``/``offset`` of api.md 1.6: limit clamped into 1..maximum, offset >= 0."""
    limit = min(max(query_int(query, "limit", default), 1), maximum)
    offset = max(query_int(query, "offset", 0), 0)
    return limit, offset
