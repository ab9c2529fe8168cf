"""Every route of the conversation layer: authentication first, 405 for a wrong method, 400 for
a malformed path id (api.md 1.2-1.3)."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import Api

pytestmark = pytest.mark.django_db

ID = str(uuid.uuid4())
ROUTES = [
    ("get", f"/api/v1/channels/{ID}/messages"),
    ("post", f"/api/v1/channels/{ID}/messages"),
    ("post", f"/api/v1/channels/{ID}/messages/bulk-delete"),
    ("get", f"/api/v1/channels/{ID}/reactions"),
    ("get", f"/api/v1/messages/{ID}/reactions"),
    ("get", f"/api/v1/channels/{ID}/pins"),
    ("get", f"/api/v1/channels/{ID}/pin-ids"),
    ("get", f"/api/v1/channels/{ID}/sender-keys"),
    ("post", f"/api/v1/channels/{ID}/sender-keys"),
    ("get", f"/api/v1/channels/{ID}/members/keys"),
    ("put", f"/api/v1/channels/{ID}/read-state"),
    ("get", "/api/v1/channels/read-states"),
    ("post", f"/api/v1/channels/{ID}/members"),
    ("delete", f"/api/v1/channels/{ID}/leave"),
    ("put", "/api/v1/users/dm-privacy"),
    ("get", "/api/v1/dm"),
    ("post", "/api/v1/dm"),
    ("post", "/api/v1/dm/group"),
    ("get", "/api/v1/dm/requests"),
    ("post", f"/api/v1/dm/{ID}/request"),
    ("get", "/api/v1/friends"),
    ("post", "/api/v1/friends/request"),
    ("post", f"/api/v1/friends/{ID}/accept"),
    ("post", f"/api/v1/friends/{ID}/decline"),
    ("delete", f"/api/v1/friends/{ID}"),
    ("get", "/api/v1/presence?user_ids="),
    ("post", "/api/v1/reports"),
    ("get", "/api/v1/admin/reports"),
    ("put", f"/api/v1/admin/reports/{ID}"),
    ("get", "/api/v1/users/search?username=x"),
    ("get", f"/api/v1/users/{ID}/profile"),
    ("put", "/api/v1/users/profile"),
    ("post", f"/api/v1/users/{ID}/block"),
    ("delete", f"/api/v1/users/{ID}/block"),
    ("get", "/api/v1/users/blocked"),
    ("put", "/api/v1/users/profile-keys"),
    ("get", f"/api/v1/users/{ID}/profile-key"),
    ("get", f"/api/v1/users/{ID}/keys"),
    ("put", "/api/v1/keys/identity"),
    ("post", "/api/v1/keys/prekeys"),
    ("delete", "/api/v1/keys/prekeys"),
    ("get", "/api/v1/keys/prekeys/count"),
    ("put", "/api/v1/keys/backup"),
    ("get", "/api/v1/keys/backup"),
    ("delete", "/api/v1/keys/backup"),
    ("get", "/api/v1/keys/backup/status"),
]


def body(method: str) -> dict | None:
    return None if method == "get" else {}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_needs_a_token(api: Api, method: str, path: str) -> None:
    response = api.request(method, path, body(method))
    assert response.status_code == 401
    assert response.json() == {"error": "Missing authorization header", "status": 401}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", f"/api/v1/channels/{ID}/messages"),
        ("get", "/api/v1/users/profile"),
        ("get", "/api/v1/friends/request"),
        ("post", "/api/v1/keys/backup/status"),
        ("get", f"/api/v1/channels/{ID}/leave"),
    ],
)
def test_wrong_method_is_405(api: Api, method: str, path: str) -> None:
    api.register("alice")
    assert api.as_("alice").request(method, path, body(method)).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/channels/not-an-id/messages",
        "/api/v1/messages/not-an-id/reactions",
        "/api/v1/friends/not-an-id/accept",
        "/api/v1/users/not-an-id/keys",
        "/api/v1/dm/not-an-id/request",
    ],
)
def test_malformed_path_id_is_400_after_authentication(api: Api, path: str) -> None:
    api.register("alice")
    method = "post" if path.endswith(("accept", "request")) else "get"
    assert api.request(method, path, body(method)).status_code == 401
    assert api.as_("alice").request(method, path, body(method)).status_code == 400
