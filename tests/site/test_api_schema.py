"""The OpenAPI description of /api/v1 (docs/api-schema.md) against the spec: every route of
api.md's route index is described with its method, its JSON body and its success answer, and
every object of api.md 1.9 is a component with the same fields, types and presence. The
expectations are read from api.md itself (tests/site/api_spec.py); what this port adds or
changes on purpose is listed below, each with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from haven_site.api.openapi import api_schema
from tests.site import api_spec
from tests.site.api_spec import Answer, Field, Route

pytestmark = pytest.mark.skipif(not api_spec.available(), reason="needs ../shared/spec/api.md")

# Fields this port adds to a spec shape (docs/api-messages.md, docs/moderation.md, ...).
ADDED_FIELDS: dict[str, set[str]] = {
    "LoginBody": {"new_password"},  # a required password change (docs/moderation.md)
    "SendBody": {"attachment_ids", "nonce"},  # docs/api-messages.md "Additions to the spec"
    "ReportBody": {"content", "attachment_names"},  # docs/moderation.md "Filing"
    "CreateInvitesBody": {"expires_in_days"},  # docs/decisions.md "Registration invites"
}
# Spec-required request fields the port lets clients leave out.
OPTIONAL_HERE: dict[str, set[str]] = {
    # Proof of work can be turned off (POW_DIFFICULTY=0, docs/configuration.md); while it is
    # on, a missing one answers the spec's 422 (accounts.actions.auth.check_register).
    "RegisterBody": {"pow_challenge", "pow_nonce"},
}
# Answer fields the port may send as null where the spec has a value.
NULLABLE_HERE: dict[str, set[str]] = {
    # The banning moderator's account may be deleted since (the column is SET NULL).
    "BanResponse": {"banned_by"},
}
# Routes the port serves that the spec does not have.
ADDED_ROUTES = {
    ("POST", "/api/v1/voice/{channel_id}/token"),  # docs/files-and-voice.md
    ("GET", "/api/v1/reports"),  # the reporter's own list, docs/moderation.md
    ("GET", "/api/v1/admin/reports"),  # the admins' review, docs/moderation.md
    ("PUT", "/api/v1/admin/reports/{report_id}"),
}
# Routes anonymous in the spec that need a token here.
AUTHENTICATED_HERE = {("GET", "/api/v1/presence")}  # docs/api-messages.md "Presence is ..."

LOGIN_ANSWER = "AuthResponse, or exactly {totp_required: true} when a TOTP code is needed"


def described_by_hand(route: Route) -> Answer | None:
    """Answers the spec gives in prose the reader does not parse."""
    if route.number == 3:  # "`200` with body exactly `{"totp_required": true}`" / AuthResponse
        return None  # checked in test_login_answers_either_tokens_or_totp_required
    if route.number in (19, 20):  # "Same as the avatar routes"
        return _route(route.number - 2).answer
    if route.number == 103:  # "`200 {"message": "DM request accepted"}`" / "... declined"
        message = Field("message", "string")
        answer = Answer(fields=[message])
        answer.values["message"] = "DM request accepted"
        return answer
    if route.number == 121:  # "Same as search without query ..., same response"
        return _route(120).answer
    return route.answer


def _route(number: int) -> Route:
    return next(r for r in api_spec.routes() if r.number == number)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return api_schema()


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:  # a nullable reference
        return resolve(schema, node["allOf"][0])
    return node


def ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref") or (node.get("allOf") or [{}])[0].get("$ref")
    return ref.rsplit("/", 1)[1] if ref else None


TYPES: dict[str, dict[str, Any]] = {
    "uuid": {"type": "string", "format": "uuid"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "ts": {"type": "string", "format": "date-time"},
    "b64": {"type": "string", "format": "byte"},
    "perm": {"type": "string", "pattern": "^[+-]?[0-9]+$"},
    "number": {"type": "number"},
    "array": {"type": "array"},
}


def check_type(schema: dict[str, Any], where: str, spec: Field, node: dict[str, Any]) -> None:
    if spec.type in TYPES:
        expected = TYPES[spec.type]
        got = {key: node.get(key) for key in expected}
        assert got == expected, f"{where}.{spec.name}: {node} is not {spec.type}"
        if spec.type == "array" and spec.items in TYPES:
            items = resolve(schema, node["items"])
            expected_items = TYPES[spec.items]
            assert {k: items.get(k) for k in expected_items} == expected_items, where
    elif spec.type[:1].isupper():  # another 1.9 object, e.g. AuthResponse.user
        assert ref_name(node) == spec.type, f"{where}.{spec.name}: {node}"


def check_object(
    schema: dict[str, Any],
    where: str,
    node: dict[str, Any],
    fields: list[Field],
    *,
    request: bool,
    values: dict[str, object] | None = None,
) -> None:
    """``node`` (an object schema) has exactly the spec's ``fields`` (plus declared additions),
    with their types, and the spec's presence: required/optional in a request; always,
    nullable or omitted-if-null in an answer."""
    name = ref_name(node) or where
    obj = resolve(schema, node)
    properties = obj.get("properties", {})
    required = set(obj.get("required", []))
    spec_names = {f.name for f in fields}
    assert spec_names <= set(properties), f"{name}: missing {spec_names - set(properties)}"
    extra = set(properties) - spec_names - ADDED_FIELDS.get(name, set())
    assert not extra, f"{name}: fields the spec does not have: {extra}"
    for spec in fields:
        prop = properties[spec.name]
        expected_required = spec.required and spec.name not in OPTIONAL_HERE.get(name, set())
        assert (spec.name in required) == expected_required, f"{name}.{spec.name} presence"
        if not request:
            nullable = spec.nullable or spec.name in NULLABLE_HERE.get(name, set())
            assert bool(prop.get("nullable")) == nullable, f"{name}.{spec.name} nullability"
        check_type(schema, name, spec, resolve(schema, prop) if "$ref" not in prop else prop)
        literal = (values or {}).get(spec.name)
        if literal is not None and not (isinstance(literal, str) and "<" in literal + "{"):
            assert literal in prop.get("enum", [literal]), f"{name}.{spec.name}: {prop}"


def operation(schema: dict[str, Any], route: Route) -> dict[str, Any]:
    path_item = schema["paths"].get(route.path)
    assert path_item is not None, f"{route.path} is not described"
    op = path_item.get(route.method.lower())
    assert op is not None, f"{route.method} {route.path} is not described"
    return op


ROUTES = api_spec.routes() if api_spec.available() else []


def test_the_route_index_is_read_whole() -> None:
    assert len(ROUTES) == 129  # api.md appendix D
    assert [r.number for r in ROUTES] == list(range(1, 130))


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.number}-{r.method}-{r.path}")
def test_each_spec_route_is_described_as_the_spec_says(
    schema: dict[str, Any], route: Route
) -> None:
    op = operation(schema, route)
    where = f"{route.method} {route.path}"

    # Authentication: the spec's index says which routes are anonymous.
    row = next(r for r in api_spec.spec_text().splitlines() if f"| {route.number} |" in r)
    anonymous = row.split("|")[4].strip() == "-"
    if (route.method, route.path) in AUTHENTICATED_HERE:
        anonymous = False
    assert bool(op.get("security")) != anonymous, f"{where}: security {op.get('security')}"

    # The body: JSON with the spec's fields, raw bytes, or none.
    content = op.get("requestBody", {}).get("content", {})
    if route.body is not None:
        assert list(content) == ["application/json"], where
        check_object(schema, where, content["application/json"]["schema"], route.body, request=True)
    elif route.raw_body or route.number == 19:  # 19: "same as the avatar routes"
        assert list(content) == ["application/octet-stream"], where
    else:
        assert not content, f"{where} takes no body"

    # The success answer.
    answer = described_by_hand(route)
    if route.number == 3:
        return
    assert answer is not None, f"{where}: the reader found no answer; describe it by hand"
    responses = op["responses"]
    if answer.kind == "empty":
        assert "content" not in responses[str(answer.status)], where
        return
    media = responses[str(answer.status)]["content"]
    if answer.kind == "bytes":
        assert media, where
        assert "application/json" not in media, where
        return
    body = media["application/json"]["schema"]
    if answer.kind == "null":
        assert body == {"enum": [None], "nullable": True}, where
    elif answer.kind == "uuid-array":
        assert body == {"type": "array", "items": TYPES["uuid"]}, where
    else:
        if answer.many:
            assert body["type"] == "array", where
            body = body["items"]
        if answer.component:
            assert ref_name(body) == answer.component, f"{where}: {body}"
        else:
            assert answer.fields is not None
            check_object(schema, where, body, answer.fields, request=False, values=answer.values)


def test_login_answers_either_tokens_or_totp_required(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]["200"]["content"]
    choices = body["application/json"]["schema"]["oneOf"]
    assert choices[0] == {"$ref": "#/components/schemas/AuthResponse"}, LOGIN_ANSWER
    assert choices[1]["properties"] == {"totp_required": {"type": "boolean", "enum": [True]}}


@pytest.mark.parametrize(
    "name", sorted(api_spec.components()) if api_spec.available() else [], ids=str
)
def test_each_shared_object_is_a_component(schema: dict[str, Any], name: str) -> None:
    fields = api_spec.components()[name]
    node = {"$ref": f"#/components/schemas/{name}"}
    assert name in schema["components"]["schemas"], f"{name} is not a component"
    check_object(schema, name, node, fields, request=False)
    assert schema["components"]["schemas"][name]["additionalProperties"] is False


def _server_routes() -> set[tuple[str, str]]:
    """(method, path) of every view method under /api/v1/ (the WebSocket aside)."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                view = getattr(pattern.callback, "cls", None)
                if view is None or route == "api/v1/schema":
                    continue
                path = "/" + route.replace("<id:", "{").replace("<str:", "{").replace(">", "}")
                for method in ("get", "post", "put", "patch", "delete"):
                    if hasattr(view, method):
                        found.add((method.upper(), path))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_route_of_the_server_is_described_and_nothing_else(schema: dict[str, Any]) -> None:
    described = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert described == _server_routes()
    spec = {(r.method, r.path) for r in ROUTES}
    assert described - spec == ADDED_ROUTES


def test_every_operation_has_its_own_description(schema: dict[str, Any]) -> None:
    """Each view method has an ``op`` (its success answer is not drf-spectacular's guess),
    and every answer the server can give is an Error body or that success."""
    for path, item in schema["paths"].items():
        for method, op in item.items():
            ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            assert len(ok) == 1, f"{method} {path}: {list(ok)}"
            assert next(iter(ok.values()))["description"] in ("OK", "No content", "The raw bytes")
            for code, response in op["responses"].items():
                if not code.startswith("2"):
                    content = response["content"]["application/json"]["schema"]
                    assert content == {"$ref": "#/components/schemas/Error"}, (path, code)
            if op.get("security"):
                assert {"401", "403", "404"} <= set(op["responses"]), path
            if "application/json" in op.get("requestBody", {}).get("content", {}):
                assert {"413", "415", "422"} <= set(op["responses"]), path


def test_generation_is_clean_and_the_document_is_valid(tmp_path: Any) -> None:
    """No warning from drf-spectacular (an unresolved type, a view it could not read), and the
    document validates against the OpenAPI 3 meta-schema."""
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out),
                 "--format", "openapi-json")  # fmt: skip
    assert json.loads(out.read_text())["openapi"].startswith("3.")


def test_the_schema_is_served_as_json_and_yaml() -> None:
    client = Client()
    response = client.get("/api/v1/schema", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200  # public: a token, good or bad, plays no part
    assert response["Content-Type"] == "application/json"
    document = json.loads(response.content)
    assert document["info"]["title"] == "Haven API"
    as_yaml = client.get("/api/v1/schema?format=yaml")
    assert as_yaml.status_code == 200
    assert "yaml" in as_yaml["Content-Type"] or "openapi" in as_yaml["Content-Type"]
    assert yaml.safe_load(as_yaml.content) == document
    by_accept = client.get("/api/v1/schema", HTTP_ACCEPT="application/yaml")
    assert yaml.safe_load(by_accept.content) == document
    assert client.post("/api/v1/schema").status_code == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/servers/{server_id}/bans/{user_id}"),  # already banned
        ("post", "/api/v1/channels/{channel_id}/messages"),  # a reused nonce
        ("put", "/api/v1/admin/reports/{report_id}"),  # the author is already banned
        ("post", "/api/v1/auth/register"),  # a taken username
    ],
)
def test_conflicts_are_documented(schema: dict[str, Any], method: str, path: str) -> None:
    """The routes whose actions raise 409 say so (the fuzz run found the ban route's missing: a
    duplicate ban answers 409, where the spec has a 500)."""
    assert "409" in schema["paths"][path][method]["responses"]


def test_group_rename_is_described(schema: dict[str, Any]) -> None:
    """``PUT /channels/{id}`` renames group DMs here too (docs/api-messages.md "Group DMs"): the
    description says who may, what is announced, and that 1:1 DMs keep the spec's refusal."""
    text = schema["paths"]["/api/v1/channels/{channel_id}"]["put"]["description"]
    for words in ("group DM", "ChannelUpdated", "Cannot rename DM channels", "participant"):
        assert words in text
