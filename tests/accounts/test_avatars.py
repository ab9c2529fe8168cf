"""Avatars and banners (api.md 2.4): validated images, encrypted at rest, public GETs."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.models import User
from haven_site import blobs
from tests.factories import (
    GIF,
    JPEG,
    PNG,
    WEBP,
    image_bytes,
)
from tests.helpers import Api

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.mark.parametrize("kind", ["avatar", "banner"])
def test_upload_sets_the_url_and_serves_the_image(api: Api, kind: str) -> None:
    alice = api.register("alice")
    response = api.as_("alice").post(f"/api/v1/users/{kind}", raw=PNG, content_type="image/png")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id
    assert body[f"{kind}_url"] == f"/api/v1/users/{alice.id}/{kind}"
    image = api.get(f"/api/v1/users/{alice.id}/{kind}", token="")  # anonymous
    assert image.status_code == 200
    assert image.content == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Cache-Control"] == "public, max-age=3600"


def test_the_stored_avatar_is_encrypted(api: Api, media_root: Path) -> None:
    alice = api.register("alice")
    api.as_("alice").post("/api/v1/users/avatar", raw=PNG)
    path = blobs.path_of(blobs.avatar_key(alice.id))
    assert path.read_bytes() != PNG
    assert PNG[8:40] not in path.read_bytes()
    assert alice.id not in str(path.relative_to(media_root))


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_content_type_is_sniffed(api: Api, data: bytes, content_type: str) -> None:
    alice = api.register("alice")
    assert api.as_("alice").post("/api/v1/users/avatar", raw=data).status_code == 200
    image = api.get(f"/api/v1/users/{alice.id}/avatar")
    assert image.headers["Content-Type"] == content_type
    assert image.content == data


def test_profile_shows_the_avatar(api: Api) -> None:
    alice = api.register("alice")
    assert api.as_("alice").post("/api/v1/users/avatar", raw=PNG).status_code == 200
    assert User.objects.get(id=alice.id).has_avatar


@pytest.mark.parametrize("kind", ["avatar", "banner"])
def test_upload_errors(api: Api, kind: str) -> None:
    api.register("alice")
    client = api.as_("alice")
    empty = client.post(f"/api/v1/users/{kind}", raw=b"")
    assert (empty.status_code, empty.json()["error"]) == (400, "No image data provided")
    text = client.post(f"/api/v1/users/{kind}", raw=b"<svg onload=alert(1)>")
    assert text.status_code == 400
    assert (
        text.json()["error"] == "Invalid image format. Only PNG, JPEG, GIF, and WebP are supported"
    )
    broken = client.post(f"/api/v1/users/{kind}", raw=PNG[:30])
    assert (broken.status_code, broken.json()["error"]) == (400, "Invalid image data")
    assert client.post(f"/api/v1/users/{kind}", raw=b"\x89PNG" + b"\0" * 50).status_code == 400
    assert api.post(f"/api/v1/users/{kind}", raw=PNG, token="").status_code == 401


def test_oversized_dimensions_are_refused(api: Api) -> None:
    api.register("alice")
    huge = image_bytes("PNG", (9000, 10))
    response = api.as_("alice").post("/api/v1/users/avatar", raw=huge)
    assert (response.status_code, response.json()["error"]) == (400, "Invalid image data")


def test_size_limits(api: Api) -> None:
    api.register("alice")
    big = PNG + b"\0" * (2 * 1024 * 1024)
    response = api.as_("alice").post("/api/v1/users/avatar", raw=big)
    assert response.status_code == 400
    assert response.json()["error"] == "Avatar too large (max 2MB)"
    # Banners allow 8 MiB: a 3 MiB banner is accepted (the spec's 2 MiB body limit hid this).
    bmp = api.as_("alice").post("/api/v1/users/banner", raw=image_bytes("BMP", (4, 4)))
    assert bmp.status_code == 400  # not one of the four formats the GET can label
    large_png = image_bytes("PNG", (1200, 1000), compress_level=0)
    assert 2 * 1024 * 1024 < len(large_png) < 8 * 1024 * 1024
    assert api.as_("alice").post("/api/v1/users/banner", raw=large_png).status_code == 200
    too_big = large_png + b"\0" * (8 * 1024 * 1024)
    response = api.as_("alice").post("/api/v1/users/banner", raw=too_big)
    assert response.json()["error"] == "Banner too large (max 8MB)"


def test_download_errors(api: Api) -> None:
    alice = api.register("alice")
    missing = api.get("/api/v1/users/00000000-0000-4000-8000-000000000000/avatar")
    assert (missing.status_code, missing.json()["error"]) == (404, "User not found")
    none = api.get(f"/api/v1/users/{alice.id}/avatar")
    assert (none.status_code, none.json()["error"]) == (404, "No avatar set")
    assert api.get(f"/api/v1/users/{alice.id}/banner").json()["error"] == "No banner set"
    api.as_("alice").post("/api/v1/users/avatar", raw=PNG)
    blobs.delete(blobs.avatar_key(alice.id))
    gone = api.get(f"/api/v1/users/{alice.id}/avatar")
    assert (gone.status_code, gone.json()["error"]) == (404, "Avatar file not found")
    assert api.get("/api/v1/users/nope/avatar").status_code == 400


def test_a_tampered_avatar_is_not_served(api: Api) -> None:
    alice = api.register("alice")
    api.as_("alice").post("/api/v1/users/banner", raw=PNG)
    path = blobs.path_of(blobs.banner_key(alice.id))
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 1
    path.write_bytes(bytes(raw))
    response = api.get(f"/api/v1/users/{alice.id}/banner")
    assert (response.status_code, response.json()["error"]) == (404, "Banner file not found")


def test_account_deletion_removes_avatar_and_banner(
    api: Api, django_capture_on_commit_callbacks: object
) -> None:
    alice = api.register("alice")
    api.as_("alice").post("/api/v1/users/avatar", raw=PNG)
    api.as_("alice").post("/api/v1/users/banner", raw=JPEG)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = api.as_("alice").post(
            "/api/v1/auth/delete-account", {"password": alice.password}
        )
    assert response.status_code == 204
    assert not blobs.exists(blobs.avatar_key(alice.id))
    assert not blobs.exists(blobs.banner_key(alice.id))
