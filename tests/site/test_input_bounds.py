"""Values that parse but lie outside what the server can represent answer 4xx, never 500.

Query integers are 64-bit and timestamps a bounded type, as in the spec, so a value beyond them
is a deserialisation error (400 for query strings, 422 for bodies, api.md 1.3).
"""

from __future__ import annotations

import pytest

from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

TOO_BIG = str(2**63)  # one past the largest signed 64-bit integer
# Valid RFC 3339, but UTC of it falls before year 1 or after year 9999.
BEFORE_YEAR_ONE = "0001-01-01T00:00:00+01:00"
AFTER_YEAR_9999 = "9999-12-31T23:59:59-01:00"


def owner_with_channel(api: Api) -> str:
    api.register("alice")
    server = api.as_("alice").post("/api/v1/servers", {"encrypted_meta": b64(b"meta")}).json()
    return str(server["system_channel_id"])


@pytest.mark.parametrize(
    "path", ["/api/v1/friends", "/api/v1/users/blocked", "/api/v1/admin/registration-invites"]
)
def test_offset_beyond_64_bits_is_a_query_error(api: Api, path: str) -> None:
    api.register("alice")  # the first user: an instance admin
    response = api.as_("alice").get(f"{path}?offset={TOO_BIG}")
    assert response.status_code == 400, response
    assert response.json()["error"].startswith("Failed to deserialize query string: offset")


@pytest.mark.parametrize("moment", [BEFORE_YEAR_ONE, AFTER_YEAR_9999])
def test_history_cursor_out_of_range_is_a_query_error(api: Api, moment: str) -> None:
    channel_id = owner_with_channel(api)
    query = moment.replace("+", "%2B")
    response = api.as_("alice").get(f"/api/v1/channels/{channel_id}/messages?before={query}")
    assert response.status_code == 400, response
    assert response.json()["error"].startswith("Failed to deserialize query string: before")


def test_expiry_out_of_range_in_a_body_is_unprocessable(api: Api) -> None:
    channel_id = owner_with_channel(api)
    body = {
        "channel_id": channel_id,
        "sender_token": b64(b"token"),
        "encrypted_body": b64(b"body"),
        "has_attachments": False,
        "expires_at": AFTER_YEAR_9999,
    }
    response = api.as_("alice").post(f"/api/v1/channels/{channel_id}/messages", body)
    assert response.status_code == 422, response
    assert "expires_at" in response.json()["error"]


def test_registration_invite_expiry_beyond_the_calendar_is_refused(api: Api) -> None:
    api.register("alice")  # the first user: an instance admin
    response = api.as_("alice").post(
        "/api/v1/admin/registration-invites", {"count": 1, "expires_in_days": 2**31 - 1}
    )
    assert response.status_code == 400, response
    assert response.json() == {"error": "expires_in_days is too large", "status": 400}


# PostgreSQL text cannot hold U+0000: such input failed in the database with 500 (PostgreSQL
# only). It is refused where it is parsed, on both databases alike.


def test_nul_in_a_body_string_is_unprocessable(api: Api) -> None:
    api.register("alice")
    login = api.post("/api/v1/auth/login", {"username": "a\x00b", "password": "x" * 10})
    assert login.status_code == 422, login
    profile = api.as_("alice").put("/api/v1/users/profile", {"display_name": "a\x00b"})
    assert profile.status_code == 422, profile
    assert profile.json()["error"].endswith("display_name: invalid value: a NUL character")


def test_nul_in_a_query_string_or_path_is_a_bad_request(api: Api) -> None:
    api.register("alice")
    search = api.as_("alice").get("/api/v1/users/search?username=a%00b")
    assert search.status_code == 400, search
    assert search.json()["error"].startswith("Failed to deserialize query string: username")
    join = api.as_("alice").post("/api/v1/invites/a%00b/join")
    assert join.status_code == 400, join
    assert join.json()["error"].startswith("Invalid URL: `code`")


def test_nul_in_a_socket_message_is_a_format_error() -> None:
    from realtime import protocol

    frame = '{"type":"AddReaction","payload":{"message_id":"%s","emoji":"a\\u0000"}}'
    with pytest.raises(protocol.FormatError, match="NUL character in `emoji`"):
        protocol.parse(frame % "6f1c2a64-8d1e-4c4e-9a55-0b7f1f0e9a11")


@pytest.mark.parametrize("limit", [" 5", "+5", "1_000", "5.0", "0x10"])
def test_query_integers_are_plain_digits(api: Api, limit: str) -> None:
    from urllib.parse import quote

    api.register("alice")
    response = api.as_("alice").get(f"/api/v1/friends?limit={quote(limit)}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Failed to deserialize query string: limit")
