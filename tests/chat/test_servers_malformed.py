"""Malformed requests on every server route: ids that are not UUIDs answer 400 after
authentication; JSON routes answer 415 without the JSON content type, 400 for invalid JSON and
422 for a body of the wrong shape (api.md 1.3)."""

from __future__ import annotations

import uuid

import pytest

from tests.chat.conftest import P
from tests.helpers import Api

pytestmark = pytest.mark.django_db

ID = str(uuid.uuid4())

# (method, path with {x} where an id goes, takes a JSON body)
ROUTES = [
    ("get", "/servers/{x}", False),
    ("patch", "/servers/{x}", True),
    ("delete", "/servers/{x}", False),
    ("get", "/servers/{x}/members/@me/permissions", False),
    ("delete", "/servers/{x}/members/@me", False),
    ("get", "/servers/{x}/members", False),
    ("delete", "/servers/{x}/members/{x}", False),
    ("put", "/servers/{x}/members/{x}/roles", True),
    ("delete", "/servers/{x}/members/{x}/roles/{x}", False),
    ("put", "/servers/{x}/members/{x}/nickname", True),
    ("put", "/servers/{x}/members/{x}/timeout", True),
    ("put", "/servers/{x}/nickname", True),
    ("get", "/servers/{x}/audit-log", False),
    ("get", "/servers/{x}/bans", False),
    ("post", "/servers/{x}/bans/{x}", True),
    ("delete", "/servers/{x}/bans/{x}", False),
    ("get", "/servers/{x}/roles", False),
    ("post", "/servers/{x}/roles", True),
    ("put", "/servers/{x}/roles/{x}", True),
    ("delete", "/servers/{x}/roles/{x}", False),
    ("get", "/servers/{x}/channels", False),
    ("post", "/servers/{x}/channels", True),
    ("put", "/servers/{x}/channels/reorder", True),
    ("get", "/servers/{x}/categories", False),
    ("post", "/servers/{x}/categories", True),
    ("put", "/servers/{x}/categories/reorder", True),
    ("put", "/servers/{x}/categories/{x}", True),
    ("delete", "/servers/{x}/categories/{x}", False),
    ("get", "/servers/{x}/invites", False),
    ("post", "/servers/{x}/invites", True),
    ("delete", "/servers/{x}/invites/{x}", False),
    ("put", "/channels/{x}", True),
    ("delete", "/channels/{x}", False),
    ("post", "/channels/{x}/join", False),
    ("get", "/channels/{x}/members", False),
    ("put", "/channels/{x}/category", True),
    ("get", "/channels/{x}/overwrites", False),
    ("put", "/channels/{x}/overwrites", True),
    ("delete", "/channels/{x}/overwrites/role/{x}", False),
]
IDS = [f"{m.upper()} {p}" for m, p, _ in ROUTES]
JSON_ROUTES = [(m, p) for m, p, body in ROUTES if body] + [("post", "/servers")]


def fill(path: str, bad_index: int | None = None) -> str:
    parts = path.split("{x}")
    out = parts[0]
    for i, rest in enumerate(parts[1:]):
        out += ("not-a-uuid" if i == bad_index else ID) + rest
    return P + out


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=IDS)
def test_malformed_ids_are_400(api: Api, method: str, path: str, body: bool) -> None:
    api.register("alice")
    for index in range(path.count("{x}")):
        target = fill(path, index)
        response = api.as_("alice").request(method, target, {} if body else None)
        assert response.status_code == 400, (target, response)
        assert response.json()["error"].startswith("Invalid URL: Cannot parse `")
        anonymous = api.request(method, target, {} if body else None, token="")
        assert anonymous.status_code == 401


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES, ids=[f"{m} {p}" for m, p in JSON_ROUTES])
def test_malformed_bodies(api: Api, method: str, path: str) -> None:
    api.register("alice")
    client = api.as_("alice")
    target = fill(path)
    no_type = client.request(method, target, raw=b"{}", content_type="text/plain")
    assert no_type.status_code == 415
    assert no_type.json()["error"] == "Expected request with `Content-Type: application/json`"
    broken = client.request(method, target, raw=b"{oops", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["error"].startswith("Failed to parse the request body as JSON")
    wrong_shape = client.request(method, target, ["not", "an", "object"])
    assert wrong_shape.status_code == 422
    assert wrong_shape.json()["error"].startswith(
        "Failed to deserialize the JSON body into the target type"
    )
