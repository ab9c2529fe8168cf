"""Server icons (api.md 2.6): owner or MANAGE_SERVER, validated, public GET, idempotent DELETE."""

from __future__ import annotations

import pytest

from chat.models import Server
from chat.permissions import Permission
from haven_site import blobs
from tests.factories import (
    GIF,
    PNG,
    add_member,
    add_role,
    make_server,
)
from tests.helpers import Api

pytestmark = pytest.mark.usefixtures("media_root")


def test_owner_sets_gets_and_deletes_the_icon(
    api: Api, django_capture_on_commit_callbacks: object
) -> None:
    alice = api.register("alice")
    server = make_server(alice.id).server
    url = f"/api/v1/servers/{server.id}/icon"
    response = api.as_("alice").post(url, raw=PNG)
    assert response.status_code == 200
    assert response.json() == {"icon_url": url}
    assert Server.objects.get(id=server.id).has_icon

    image = api.get(url, token="")
    assert image.status_code == 200
    assert image.content == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Cache-Control"] == "public, max-age=86400"
    assert blobs.path_of(blobs.server_icon_key(server.id)).read_bytes() != PNG

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        deleted = api.as_("alice").delete(url)
    assert (deleted.status_code, deleted.json()) == (200, {"ok": True})
    assert not Server.objects.get(id=server.id).has_icon
    assert not blobs.exists(blobs.server_icon_key(server.id))
    assert api.get(url).json()["error"] == "No icon set"
    assert api.as_("alice").delete(url).status_code == 200  # idempotent


def test_manage_server_is_needed(api: Api) -> None:
    alice = api.register("alice")
    bob = api.register("bob")
    carol = api.register("carol")
    server = make_server(alice.id).server
    add_member(server, bob.id)
    add_member(server, carol.id)
    add_role(server, carol.id, Permission.MANAGE_SERVER)
    url = f"/api/v1/servers/{server.id}/icon"
    for method in ("post", "delete"):
        response = getattr(api.as_("bob"), method)(url, raw=PNG)
        assert response.status_code == 403
        assert response.json()["error"] == "Missing MANAGE_SERVER permission"
    assert api.as_("carol").post(url, raw=GIF).status_code == 200
    assert api.get(url).headers["Content-Type"] == "image/gif"


def test_icon_errors(api: Api) -> None:
    alice = api.register("alice")
    api.register("mallory")
    server = make_server(alice.id).server
    url = f"/api/v1/servers/{server.id}/icon"
    unknown = "/api/v1/servers/00000000-0000-4000-8000-000000000000/icon"
    assert api.as_("alice").post(unknown, raw=PNG).json()["error"] == "Server not found"
    assert api.get(unknown).json() == {"error": "Server not found", "status": 404}
    assert api.as_("mallory").post(url, raw=PNG).status_code == 403
    empty = api.as_("alice").post(url, raw=b"")
    assert (empty.status_code, empty.json()["error"]) == (400, "No image data provided")
    assert api.as_("alice").post(url, raw=b"not an image").status_code == 400
    assert api.post(url, raw=PNG, token="").status_code == 401
    too_big = api.as_("alice").post(url, raw=PNG + b"\0" * (2 * 1024 * 1024))
    assert too_big.json()["error"] == "Icon too large (max 2MB)"
    assert api.as_("alice").post(url, raw=PNG).status_code == 200
    blobs.delete(blobs.server_icon_key(server.id))
    assert api.get(url).json() == {"error": "Icon file not found", "status": 404}
