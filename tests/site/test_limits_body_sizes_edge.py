"""Body-size limits (api.md 1.8, operations.md 5.6) through the real ASGI application
(edge guard + Django handler), (the other tests use Django's test client); and raw
routes take "any or no Content-Type" (api.md 1.7)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from asgiref.sync import sync_to_async
from PIL import Image

from haven_site.asgi import application
from tests.factories import PNG
from tests.helpers import Api, haven_settings

P = "/api/v1"
MIB = 1024 * 1024
TOO_LARGE = {"error": "Failed to buffer the request body: length limit exceeded", "status": 413}


@pytest.fixture(autouse=True)
def _limits_off() -> Iterator[None]:
    with haven_settings(rate_limits_enabled=False):
        yield


def edge() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=("203.0.113.50", 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def noisy_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.django_db(transaction=True)
async def test_banner_between_2_and_8_mib_is_accepted_through_asgi(
    api: Api, media_root: Any
) -> None:
    user = await sync_to_async(api.register)("alice")
    banner = noisy_png(1100)
    assert 2 * MIB < len(banner) < 8 * MIB
    async with edge() as client:
        response = await client.post(
            f"{P}/users/banner", content=banner, headers=auth(user.access_token)
        )
        too_big = await client.post(
            f"{P}/users/banner",
            content=b"\x89PNG" + b"0" * (8 * MIB),
            headers=auth(user.access_token),
        )
    assert response.status_code == 200, response.text[:200]
    assert (too_big.status_code, too_big.json()) == (413, TOO_LARGE)


@pytest.mark.django_db(transaction=True)
async def test_avatar_icon_and_json_over_2_mib_are_413_json(api: Api) -> None:
    user = await sync_to_async(api.register)("alice")
    body = b"x" * (2 * MIB + 1)
    async with edge() as client:
        avatar = await client.post(
            f"{P}/users/avatar", content=body, headers=auth(user.access_token)
        )
        profile = await client.put(
            f"{P}/users/profile",
            content=body,
            headers={**auth(user.access_token), "content-type": "application/json"},
        )
    for response in (avatar, profile):
        assert (response.status_code, response.json()) == (413, TOO_LARGE)


@pytest.mark.django_db(transaction=True)
async def test_json_body_of_exactly_2_mib_is_accepted(api: Api) -> None:
    user = await sync_to_async(api.register)("alice")
    prefix, suffix = b'{"about_me": "', b'"}'
    body = prefix + b"a" * (2 * MIB - len(prefix) - len(suffix)) + suffix
    assert len(body) == 2 * MIB
    async with edge() as client:
        response = await client.put(
            f"{P}/users/profile",
            content=body,
            headers={**auth(user.access_token), "content-type": "application/json"},
        )
    assert response.status_code == 200, response.text[:200]


@pytest.mark.django_db(transaction=True)
async def test_attachment_limit_is_the_configured_maximum(api: Api, media_root: Any) -> None:
    user = await sync_to_async(api.register)("alice")
    with haven_settings(rate_limits_enabled=False, max_upload_size_bytes=3 * MIB):
        async with edge() as client:
            fits = await client.post(
                f"{P}/attachments/upload", content=b"z" * (3 * MIB), headers=auth(user.access_token)
            )
            over = await client.post(
                f"{P}/attachments/upload",
                content=b"z" * (3 * MIB + 1),
                headers=auth(user.access_token),
            )
    assert fits.status_code == 200, fits.text[:200]
    assert (over.status_code, over.json()) == (413, TOO_LARGE)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "text/plain"],
)
def test_raw_routes_take_any_content_type(api: Api, media_root: Any, content_type: str) -> None:
    """api.md 1.7: raw binary bodies have "any or no Content-Type; the bytes are the payload"."""
    api.register("alice")
    avatar = api.as_("alice").post(f"{P}/users/avatar", raw=PNG, content_type=content_type)
    upload = api.as_("alice").post(
        f"{P}/attachments/upload", raw=b"a=1&b=2" * 10, content_type=content_type
    )
    assert avatar.status_code == 200, avatar
    assert upload.status_code == 200, upload
