"""api.md 1.3 fixes the order of checks: authentication, path, query, then the body
(415 wrong content type / 400 bad JSON / 422 wrong shape), and only then the handler's own logic
(403/404/400). A malformed body to a route whose ids point nowhere must therefore get the body's
status, with the JSON envelope (docs/decisions.md)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.django_db

X = str(uuid.uuid4())
JSON_ROUTES = [
    ("patch", f"/api/v1/servers/{X}"),
    ("patch", f"/api/v1/servers/{X}/emojis/{X}"),
    ("post", "/api/v1/admin/registration-invites"),
    ("post", "/api/v1/auth/delete-account"),
    ("post", "/api/v1/auth/totp/verify"),
    ("post", f"/api/v1/channels/{X}/members"),
    ("post", f"/api/v1/channels/{X}/messages"),
    ("post", f"/api/v1/channels/{X}/messages/bulk-delete"),
    ("post", f"/api/v1/channels/{X}/sender-keys"),
    ("post", "/api/v1/dm"),
    ("post", "/api/v1/dm/group"),
    ("post", f"/api/v1/dm/{X}/request"),
    ("post", "/api/v1/friends/request"),
    ("post", "/api/v1/keys/prekeys"),
    ("post", "/api/v1/reports"),
    ("post", "/api/v1/servers"),
    ("post", f"/api/v1/servers/{X}/bans/{X}"),
    ("post", f"/api/v1/servers/{X}/categories"),
    ("post", f"/api/v1/servers/{X}/channels"),
    ("post", f"/api/v1/servers/{X}/invites"),
    ("post", f"/api/v1/servers/{X}/roles"),
    ("put", f"/api/v1/admin/users/{X}/admin"),
    ("put", "/api/v1/auth/password"),
    ("put", f"/api/v1/channels/{X}"),
    ("put", f"/api/v1/channels/{X}/category"),
    ("put", f"/api/v1/channels/{X}/overwrites"),
    ("put", "/api/v1/keys/backup"),
    ("put", "/api/v1/keys/identity"),
    ("put", f"/api/v1/servers/{X}/categories/reorder"),
    ("put", f"/api/v1/servers/{X}/categories/{X}"),
    ("put", f"/api/v1/servers/{X}/channels/reorder"),
    ("put", f"/api/v1/servers/{X}/members/{X}/nickname"),
    ("put", f"/api/v1/servers/{X}/members/{X}/roles"),
    ("put", f"/api/v1/servers/{X}/members/{X}/timeout"),
    ("put", f"/api/v1/servers/{X}/nickname"),
    ("put", f"/api/v1/servers/{X}/roles/{X}"),
    ("put", "/api/v1/users/dm-privacy"),
    ("put", "/api/v1/users/profile"),
    ("put", "/api/v1/users/profile-keys"),
    ("put", f"/api/v1/voice/{X}/members/{X}/deafen"),
    ("put", f"/api/v1/voice/{X}/members/{X}/mute"),
]


@pytest.fixture(autouse=True)
def _limits_off() -> Iterator[None]:
    with haven_settings(rate_limits_enabled=False):
        yield


@pytest.fixture
def caller(api: Api) -> Api:
    api.register("admin")  # the first user is the instance admin
    return api.as_("admin")


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize(
    ("content_type", "raw", "status"),
    [(None, b"", 415), ("text/plain", b"{}", 415), ("application/json", b"{", 400)],
)
def test_body_errors_come_before_handler_logic(
    caller: Api, method: str, path: str, content_type: str | None, raw: bytes, status: int
) -> None:
    response = caller.request(method, path, raw=raw, content_type=content_type or "")
    assert response.status_code == status, response
    assert response.json()["status"] == status
