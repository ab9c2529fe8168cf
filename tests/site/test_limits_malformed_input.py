"""Malformed input must get the spec's status (api.md 1.3: 400 syntax, 422 shape) with the
JSON error envelope (api.md 1.4, docs/decisions.md "Requests and errors"), never a 500, and must
change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import User
from invites.models import ServerInvite
from tests.helpers import Api, b64, haven_settings

pytestmark = pytest.mark.django_db

P = "/api/v1"


@pytest.fixture(autouse=True)
def _limits_off() -> Iterator[None]:
    """The suite runs with rate limits on (the default): set-up requests must not count."""
    with haven_settings(rate_limits_enabled=False):
        yield


def _envelope(response: Any, *statuses: int) -> None:
    assert response.status_code in statuses, response
    body = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body["error"], str), body


# --- JSON syntax ---------------------------------------------------------------------------------


def test_deeply_nested_json_body_is_a_syntax_error_not_500(api: Api) -> None:
    """A syntactically closed but 100k-deep array fits well inside the 2 MiB body limit. The
    original's parser (serde_json, recursion limit 128) refuses it as unparsable JSON (400)."""
    api.register("alice")
    depth = 100_000
    raw = ("[" * depth + "]" * depth).encode()
    response = api.as_("alice").request(
        "put", f"{P}/users/profile", raw=raw, content_type="application/json"
    )
    _envelope(response, 400, 422)


def test_deeply_nested_json_value_is_refused_not_500(api: Api) -> None:
    api.register("alice")
    depth = 100_000
    raw = ('{"display_name": ' + "[" * depth + "]" * depth + "}").encode()
    response = api.as_("alice").request(
        "put", f"{P}/users/profile", raw=raw, content_type="application/json"
    )
    _envelope(response, 400, 422)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_tokens_are_a_syntax_error(api: Api, token: str) -> None:
    """NaN/Infinity are not JSON (RFC 8259); the spec's table: not valid JSON -> 400."""
    api.register("alice")
    raw = ('{"display_name": "x", "about_me": ' + token + "}").encode()
    response = api.as_("alice").request(
        "put", f"{P}/users/profile", raw=raw, content_type="application/json"
    )
    _envelope(response, 400)


@pytest.mark.parametrize(
    "raw",
    [
        '{"display_name": "x"}'.encode("utf-16"),
        '{"display_name": "x"}'.encode("utf-32-le"),
        b"\xef\xbb\xbf" + b'{"display_name": "x"}',
    ],
    ids=["utf-16", "utf-32", "utf-8-bom"],
)
def test_non_utf8_or_bom_json_is_a_syntax_error(api: Api, raw: bytes) -> None:
    """JSON exchanged between systems MUST be UTF-8 without a BOM (RFC 8259 8.1); the
    original's parser refuses anything else as unparsable (400). Python's json.loads(bytes)
    silently detects UTF-16/32 and strips a BOM."""
    api.register("alice")
    response = api.as_("alice").request(
        "put", f"{P}/users/profile", raw=raw, content_type="application/json"
    )
    _envelope(response, 400)
    assert User.objects.get(username="alice").display_name != "x"


def test_lone_surrogate_in_a_string_is_refused_not_500(api: Api) -> None:
    """JSON "\\ud800" is a lone surrogate: not a Unicode scalar value. serde_json refuses it
    (400); it cannot be encoded to UTF-8 for PostgreSQL either."""
    api.register("alice")
    raw = b'{"display_name": "ok", "about_me": "a\\ud800b"}'
    response = api.as_("alice").request(
        "put", f"{P}/users/profile", raw=raw, content_type="application/json"
    )
    _envelope(response, 400, 422)
    assert User.objects.get(username="alice").about_me is None


def test_lone_surrogate_in_category_name_is_refused_not_500(api: Api) -> None:
    api.register("alice")
    sid = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()["id"]
    raw = b'{"name": "\\udfff"}'
    response = api.as_("alice").request(
        "post", f"{P}/servers/{sid}/categories", raw=raw, content_type="application/json"
    )
    _envelope(response, 400, 422)


@pytest.mark.parametrize(
    ("route", "raw"),
    [
        ("login", b'{"username": "alice", "password": "pass\\udc00word"}'),
        ("login-name", b'{"username": "al\\ud800ice", "password": "password"}'),
        ("register-email", None),
        ("friend-request", b'{"username": "b\\udfffob"}'),
        ("nickname", b'{"nickname": "\\ud800"}'),
    ],
)
def test_lone_surrogates_anywhere_are_refused_not_500(
    api: Api, route: str, raw: bytes | None
) -> None:
    """The same root cause on other routes: every JSON string field accepts lone surrogates
    (``haven_site.api.fields.Str``), which then fail in hashing or in the database."""
    import json as _json

    from tests.helpers import key_material

    api.register("alice")
    sid = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()["id"]
    paths = {
        "login": ("post", f"{P}/auth/login"),
        "login-name": ("post", f"{P}/auth/login"),
        "register-email": ("post", f"{P}/auth/register"),
        "friend-request": ("post", f"{P}/friends/request"),
        "nickname": ("put", f"{P}/servers/{sid}/nickname"),
    }
    method, path = paths[route]
    if raw is None:
        body = {"username": "carol", "password": "long enough", **key_material("c")}
        raw = _json.dumps(body)[:-1].encode() + b', "email": "c\\ud800@example.com"}'
    token = "" if route.startswith(("login", "register")) else None
    client = api.as_("alice")
    response = client.request(method, path, raw=raw, content_type="application/json", token=token)
    _envelope(response, 400, 401, 404, 422)
    assert not User.objects.filter(username="carol").exists()


# --- numbers -------------------------------------------------------------------------------------


def test_huge_integer_for_a_number_field_is_refused_not_500(api: Api) -> None:
    """``expires_in_hours`` is a JSON number; 10**400 does not fit a float (an f64 in the
    original: a deserialisation error)."""
    api.register("alice")
    sid = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()["id"]
    raw = ('{"expires_in_hours": 1' + "0" * 400 + "}").encode()
    response = api.as_("alice").request(
        "post", f"{P}/servers/{sid}/invites", raw=raw, content_type="application/json"
    )
    _envelope(response, 400, 422)
    assert not ServerInvite.objects.exists()


def test_query_integer_with_thousands_of_digits_is_a_query_error(api: Api) -> None:
    """api.md 1.3/1.6: an unparsable query integer -> 400 `Failed to deserialize query string`."""
    api.register("alice")
    response = api.as_("alice").get(f"{P}/friends?limit={'9' * 5000}")
    _envelope(response, 400)
    assert response.json()["error"].startswith("Failed to deserialize query string")


def test_offset_with_thousands_of_digits_is_a_query_error(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").get(f"{P}/users/blocked?offset={'1' * 5000}")
    _envelope(response, 400)


def test_permissions_string_with_thousands_of_digits_is_unparsable_not_500(api: Api) -> None:
    """api.md 2.11: `permissions` unparsable -> 0 silently (a signed 64-bit parse fails)."""
    api.register("alice")
    sid = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()["id"]
    response = api.as_("alice").post(
        f"{P}/servers/{sid}/roles", {"name": "big", "permissions": "9" * 5000}
    )
    assert response.status_code == 200, response
    assert response.json()["permissions"] == "0"


# --- usernames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice\n", "bob_\n"])
def test_username_with_trailing_newline_is_refused(api: Api, username: str) -> None:
    """api.md 2.1: only `A-Z a-z 0-9 _ -`. A regex anchored with `$` lets a final newline
    through."""
    from tests.helpers import key_material

    body = {"username": username, "password": "long enough pw", **key_material("x")}
    response = api.post(f"{P}/auth/register", body, token="")
    _envelope(response, 400)
    assert not User.objects.filter(username=username).exists()


# --- timestamps ----------------------------------------------------------------------------------

NOT_RFC3339 = [
    "20250101T000000Z",  # ISO 8601 basic format
    "2025-W01-1T00:00:00Z",  # ISO week date
    "2025-01-01T00Z",  # hour only
    "2025-01-01T00:00:00,5Z",  # comma fraction
    "2025-01-01T00:00:00+0100",  # offset without colon
]


@pytest.mark.parametrize("moment", NOT_RFC3339)
def test_non_rfc3339_before_cursor_is_a_query_error(api: Api, moment: str) -> None:
    """api.md 1.5: incoming timestamps must be RFC 3339 with an offset; 1.6: a bad timestamp in
    the query is `400 Failed to deserialize query string`."""
    from urllib.parse import quote

    api.register("alice")
    server = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()
    channel = server["system_channel_id"]
    response = api.as_("alice").get(f"{P}/channels/{channel}/messages?before={quote(moment)}")
    _envelope(response, 400)


@pytest.mark.parametrize("moment", NOT_RFC3339)
def test_non_rfc3339_expires_at_is_unprocessable(api: Api, moment: str) -> None:
    from chat.models import Message

    api.register("alice")
    server = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()
    channel = server["system_channel_id"]
    body = {
        "channel_id": channel,
        "sender_token": b64(b"t"),
        "encrypted_body": b64(b"b"),
        "has_attachments": False,
        "expires_at": moment.replace("2025", "2099"),
    }
    response = api.as_("alice").post(f"{P}/channels/{channel}/messages", body)
    _envelope(response, 422)
    assert not Message.objects.filter(channel_id=channel, message_type="user").exists()
