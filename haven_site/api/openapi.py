"""The machine-readable description of ``/api/v1``: an OpenAPI 3 document that drf-spectacular
generates from the URL map, served at ``/api/v1/schema`` (docs/api-schema.md).

The views parse their bodies by hand (``haven_site.api.parsing``) and build their answers with
the ``shapes`` modules, so introspection alone sees little. Each app says what its routes take and
give in its own ``api/openapi.py``: response components (serializers whose fields are the strict
fields of ``haven_site.api.fields``, each carrying its JSON Schema), and a table that attaches an
``op(...)`` to every view method. This module holds the vocabulary those tables use, and the hook
that adds the error answers every route shares, so that the tables list only what is particular
to a route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from django.utils.module_loading import autodiscover_modules
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import build_mock_request
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from haven_site.api.fields import FieldT, StrictField

JSON = "application/json"
BINARY = {"type": "string", "format": "binary"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# What every answer that is not a success looks like (api.md 1.4; docs/decisions.md "Requests
# and errors": this port sends it for framework-level rejections too). Some errors add fields
# after ``status`` (``code``, ``reason``, ``suspended_until``: docs/moderation.md).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every error: the message and the HTTP status, sometimes with details.",
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
    },
    "required": ["error", "status"],
}

ERROR_TEXT = {
    400: "Bad request: a malformed path id or query string, or a value the route refuses",
    401: "Missing, malformed, expired or revoked access token",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Body larger than the route's limit",
    415: "A JSON route called without a JSON Content-Type",
    422: "Valid JSON of the wrong shape: a missing or null required field, or a wrong type",
    429: "Rate limited",
}


# --- Field types ---------------------------------------------------------------------------------


# drf-spectacular's extension base registers subclasses in an untyped __init_subclass__.
class StrictFieldExtension(OpenApiSerializerFieldExtension):
    """Every strict field (and so every request and response field) declares its own schema."""

    target_class = StrictField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field: StrictField = self.target
        return field.openapi_schema()


class Ref(StrictField):
    """A component defined by another app's description (e.g. RoleResponse inside accounts'
    profile card), named instead of imported so that apps keep their import order."""

    def __init__(self, component: str, *, many: bool = False, **kwargs: Any) -> None:
        self.component = component
        self.many = many
        super().__init__(**kwargs)

    def openapi_schema(self) -> dict[str, Any]:
        ref = {"$ref": f"#/components/schemas/{self.component}"}
        return {"type": "array", "items": ref} if self.many else ref


class AnyJson(StrictField):
    """Any JSON value (the audit log's ``changes``)."""

    def openapi_schema(self) -> dict[str, Any]:
        return {}


# A response component: the fields of a dict that a ``shapes`` function builds, in the same
# order. Only the description reads it; the views never serialise through it. (No docstring: the
# description would show it on every component that inherits it.)
class Shape(serializers.Serializer[dict[str, Any]]):
    pass


def nullable(field: type[FieldT], **kwargs: Any) -> FieldT:
    """Always present, may be null ("nullable" in api.md 1.9)."""
    return field(allow_null=True, **kwargs)


def omitted(field: type[FieldT], **kwargs: Any) -> FieldT:
    """Left out when there is no value ("omitted if null" in api.md 1.9)."""
    return field(required=False, **kwargs)


# --- Operations ----------------------------------------------------------------------------------


def query(
    name: str, schema: dict[str, Any], description: str = "", *, required: bool = False
) -> OpenApiParameter:
    return OpenApiParameter(
        name, schema, OpenApiParameter.QUERY, required=required, description=description
    )


STRING = {"type": "string"}
INTEGER = {"type": "integer", "format": "int64"}
UUID = {"type": "string", "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time"}
LIMIT = query("limit", INTEGER, "Page size (default 50, clamped into 1..100)")
OFFSET = query("offset", INTEGER, "Rows to skip (default 0)")


def obj(
    required: Mapping[str, Any] | None = None, optional: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A closed object schema for a one-off answer such as ``{"message": "Logged out"}``."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {**(required or {}), **(optional or {})},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def const(*values: Any) -> dict[str, Any]:
    """One of a few exact values (the fixed texts of ``message`` answers, ``true`` flags)."""
    kind = {bool: "boolean", str: "string", int: "integer"}[type(values[0])]
    return {"type": kind, "enum": list(values)}


def message(*texts: str) -> dict[str, Any]:
    return obj({"message": const(*texts)})


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


OK_TRUE = obj({"ok": const(True)})


def op(
    ok: Any = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    params: Iterable[OpenApiParameter] = (),
    errors: Iterable[int] = (),
    status: int = 200,
    media: Iterable[str] = (),
    summary: str | None = None,
    description: str | None = None,
) -> Callable[[Any], Any]:
    """One operation: its success answer ``ok`` (a serializer, a schema dict or None for an empty
    body) with ``status``, its JSON ``body`` serializer or ``raw_body`` description (raw bytes),
    its query ``params``, and the error statuses particular to it. ``media`` names the content
    types of a binary answer. The errors every route shares are added by ``add_shared_errors``."""
    responses: dict[Any, Any] = {}
    if media:
        for kind in media:
            responses[(status, kind)] = OpenApiResponse(BINARY, description="The raw bytes")
    elif ok is None:
        responses[status] = OpenApiResponse(description="No content")
    else:
        responses[status] = OpenApiResponse(ok, description="OK")
    for code in errors:
        responses[code] = OpenApiResponse(ERROR_REF, description=ERROR_TEXT.get(code, "Error"))
    request: Any = body
    if raw_body is not None:
        request = {"application/octet-stream": BINARY}
        description = f"{description}\n\nBody: {raw_body}" if description else f"Body: {raw_body}"
    return extend_schema(
        request=request,
        responses=responses,
        parameters=list(params),
        summary=summary,
        description=description,
    )


Annotations = Mapping[type[APIView], Mapping[str, Callable[[Any], Any]]]


def annotate(table: Annotations) -> None:
    """Attach each ``op`` to its view method (``{View: {"get": op(...), ...}}``). A view method
    that has no entry is a mistake the schema test catches (no undocumented route)."""
    from drf_spectacular.utils import extend_schema_view

    for view, methods in table.items():
        extend_schema_view(**dict(methods))(view)


# --- Generation ----------------------------------------------------------------------------------


class AutoSchema(SpectacularAutoSchema):
    """Operations carry only the description their ``op`` gives (view docstrings are written
    for readers of the code), and are named after their view: ``<app>_<view>_<method>``."""

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature
        return ""

    def get_operation_id(self) -> str:
        view = type(self.view)
        app = view.__module__.split(".", 1)[0]
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", view.__name__.removesuffix("View")).lower()
        return f"{app}_{name}_{self.method.lower()}"


class Generator(SchemaGenerator):
    """Loads every app's ``api/openapi.py`` (like Django's admin autodiscovery) before
    generating, so that the descriptions cost nothing until the schema is asked for."""

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        autodiscover_modules("api.openapi")
        # drf-spectacular's get_schema is untyped (``unused-ignore``: until mypy runs strict).
        schema: dict[str, Any] = super().get_schema(  # type: ignore[no-untyped-call, unused-ignore]
            request, public
        )
        return schema


def mock_request(method: str, path: str, view: Any, original_request: Any, **kwargs: Any) -> Any:
    """drf-spectacular's mock request, with ``view.request`` set first: views that choose their
    authenticators by method (a public GET beside an authenticated POST) read it."""
    from django.test import RequestFactory  # here: django.test costs every process ~10 MB

    view.request = RequestFactory().generic(method, path)
    return build_mock_request(method, path, view, original_request, **kwargs)


def add_shared_errors(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the error answers every route shares, derived from the operation
    itself (authenticated or not, JSON body or not); and closed answer components, so that a
    field the description does not name shows up as drift. Request components stay open: unknown
    fields in a body are ignored (api.md 1.3)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    operations = [op for item in result.get("paths", {}).values() for op in item.values()]
    in_requests = _referenced([op.get("requestBody", {}) for op in operations], schemas)
    for name, schema in schemas.items():
        if name not in in_requests and name != "Error" and schema.get("type") == "object":
            schema["additionalProperties"] = False
    for operation in operations:
        responses = operation.setdefault("responses", {})
        codes = {400, 413, 429}
        if operation.get("security"):
            codes |= {401, 403, 404}
        if JSON in operation.get("requestBody", {}).get("content", {}):
            codes |= {415, 422}
        for code in sorted(codes):
            responses.setdefault(
                str(code),
                {"description": ERROR_TEXT[code], "content": {JSON: {"schema": ERROR_REF}}},
            )
        operation["responses"] = dict(sorted(responses.items()))
    return result


def _referenced(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    """Names of the components reachable from ``roots``."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    pending.append(schemas.get(name, {}))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


@cache
def api_schema() -> dict[str, Any]:
    """The document, generated once per process."""
    # drf-spectacular's __init__ is untyped (``unused-ignore``: until mypy runs strict).
    generator = Generator()  # type: ignore[no-untyped-call, unused-ignore]
    return generator.get_schema(request=None, public=True)


class SchemaView(APIView):
    """``GET /api/v1/schema``: JSON by default, YAML with ``?format=yaml`` (or an ``Accept`` of
    ``application/yaml``). Public: it describes the API, it holds no data."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [
        OpenApiJsonRenderer2,  # application/json, the default
        OpenApiJsonRenderer,
        OpenApiYamlRenderer2,
        OpenApiYamlRenderer,
    ]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(api_schema())
