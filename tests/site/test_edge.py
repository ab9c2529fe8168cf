"""The edge of the application: probes, headers, body limits, rate limits, client addresses,
JSON errors for unknown routes (api.md 1.1-1.3, 1.12, 5; operations.md 4)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest
from channels.layers import channel_layers
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.test import Client, override_settings

from haven_site import health, ratelimit
from haven_site.asgi import application
from haven_site.clientip import client_ip
from haven_site.keys import derived_key
from haven_site.middleware import SECURITY_HEADERS
from tests.helpers import Api, haven_settings


def edge(client: tuple[str, int] = ("203.0.113.9", 4000)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=client)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_health_is_plain_ok() -> None:
    async with edge() as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.text == "ok"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


@pytest.mark.django_db(transaction=True)
async def test_ready_touches_database_and_channel_layer() -> None:
    async with edge() as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


@pytest.mark.django_db(transaction=True)
async def test_ready_reports_a_dead_database(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = DatabaseWrapper({"NAME": "/nonexistent/haven/db.sqlite3", **_sqlite_defaults()})
    monkeypatch.setattr(health, "connection", dead)
    async with edge() as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == 503
    assert "database" in data["checks"]
    assert data["error"].startswith("database unavailable")


@pytest.mark.django_db(transaction=True)
async def test_ready_reports_a_dead_channel_layer() -> None:
    unreachable = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    with override_settings(CHANNEL_LAYERS=unreachable):
        channel_layers.backends.clear()
        try:
            async with edge() as client:
                response = await client.get("/health/ready")
        finally:
            channel_layers.backends.clear()
    assert response.status_code == 503
    assert "channel_layer" in response.json()["checks"]


def _sqlite_defaults() -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "OPTIONS": {},
        "TIME_ZONE": None,
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "TEST": {},
    }


class StreamedBody:
    """A chunked request body of ``chunks`` chunks of 64 KiB that counts how many were read."""

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> Any:
        for _ in range(self.chunks):
            self.read += 1
            yield b"x" * 65536


async def test_oversize_body_is_refused_before_it_is_read() -> None:
    body = StreamedBody(64)
    async with edge() as client:
        declared = await client.post(
            "/api/v1/auth/login",
            content=b"{}",
            headers={"content-type": "application/json", "content-length": str(3 * 1024 * 1024)},
        )
        chunked = await client.post(
            "/api/v1/auth/login", content=body, headers={"content-type": "application/json"}
        )
    assert declared.status_code == 413
    assert declared.json() == {
        "error": "Failed to buffer the request body: length limit exceeded",
        "status": 413,
    }
    assert chunked.status_code == 413
    assert body.read < 64  # stopped early, not buffered to the end


async def test_global_rate_limit_per_address() -> None:
    with haven_settings(rate_limits_enabled=True, max_requests_per_minute=5):
        async with edge(("198.51.100.1", 1)) as first, edge(("198.51.100.2", 1)) as second:
            statuses = [(await first.get("/health")).status_code for _ in range(7)]
            other = await second.get("/health")
            static = await first.get("/static/does-not-matter.css")
    assert statuses == [200] * 5 + [429] * 2
    assert other.status_code == 200
    assert static.status_code != 429  # the client's assets are not counted


def test_limiter_keys_are_keyed_hashes_of_the_address() -> None:
    """operations.md 4.2: no raw address in Redis, a keyed hash of it (remembered per address)."""
    key = derived_key("ratelimit-ip")
    expected = hmac.new(key, b"198.51.100.9", hashlib.sha256).hexdigest()[:32]
    assert ratelimit.ip_key("198.51.100.9") == expected
    assert ratelimit.ip_key("198.51.100.9") == expected
    assert ratelimit.ip_key("198.51.100.10") != expected


def test_limiter_counts_under_the_key_djangos_cache_gives() -> None:
    from django.core.cache import cache

    assert ratelimit._redis_key("rl:ip:abc") == cache.make_key("rl:ip:abc")


async def test_a_large_body_over_the_rate_limit_is_refused_before_it_is_read() -> None:
    """Small requests are counted in their worker thread, after their body; a large or streamed
    body is counted first, so a client over its limit does not get to upload it."""
    body = StreamedBody(16)
    with haven_settings(rate_limits_enabled=True, max_requests_per_minute=1):
        async with edge(("198.51.100.4", 1)) as client:
            assert (await client.get("/health")).status_code == 200
            declared = await client.post(
                "/api/v1/attachments/upload", content=b"x" * (256 * 1024), headers={}
            )
            streamed = await client.post("/api/v1/attachments/upload", content=body)
    assert declared.status_code == 429
    assert streamed.status_code == 429
    assert body.read <= 1  # refused before the body was read


async def test_rate_limited_answer_is_json() -> None:
    with haven_settings(rate_limits_enabled=True, max_requests_per_minute=1):
        async with edge(("198.51.100.3", 1)) as client:
            await client.get("/health")
            response = await client.get("/health")
    assert response.status_code == 429
    assert response.json() == {"error": "Rate limited", "status": 429}


@pytest.mark.django_db
def test_auth_routes_are_limited_to_ten_a_minute(api: Api) -> None:
    with haven_settings(rate_limits_enabled=True):
        statuses = [api.get("/api/v1/auth/invite-required").status_code for _ in range(12)]
    assert statuses == [200] * 10 + [429] * 2


class TestClientAddress:
    def test_untrusted_peer_header_is_ignored(self) -> None:
        assert client_ip("203.0.113.5", "1.2.3.4") == "203.0.113.5"

    def test_trusted_proxy_gives_the_rightmost_untrusted_hop(self) -> None:
        assert client_ip("127.0.0.1", "6.6.6.6, 203.0.113.7") == "203.0.113.7"

    def test_trusted_network(self) -> None:
        with haven_settings(trusted_proxies=["172.28.0.0/16"]):
            assert client_ip("172.28.0.4", "203.0.113.8") == "203.0.113.8"
            assert client_ip("172.29.0.4", "203.0.113.8") == "172.29.0.4"

    def test_no_header(self) -> None:
        assert client_ip("127.0.0.1", None) == "127.0.0.1"


@pytest.mark.django_db
class TestRouting:
    def test_unknown_api_path_is_json_404(self, api: Api) -> None:
        response = api.get("/api/v1/nope")
        assert response.status_code == 404
        assert response.json() == {"error": "Not found", "status": 404}

    def test_trailing_slash_is_not_normalised(self, api: Api) -> None:
        assert api.get("/api/v1/auth/challenge/").status_code == 404

    def test_wrong_method_is_405_with_allow(self, api: Api) -> None:
        response = api.get("/api/v1/auth/login")
        assert response.status_code == 405
        assert response.json()["status"] == 405
        assert "POST" in response.headers["Allow"]

    def test_security_headers_on_api_and_client(self, api: Api) -> None:
        for path in ("/api/v1/auth/invite-required", "/", "/some/client/route"):
            response = api.get(path)
            for name, value in SECURITY_HEADERS.items():
                assert response.headers[name] == value, (path, name)

    def test_invite_link_opens_the_client(self, api: Api) -> None:
        response = api.get("/invite/AbC123xy")
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"client/app.js" in response.content

    def test_api_errors_are_json_even_where_csrf_would_refuse(self) -> None:
        """A pasted invite link (its slashes decoded before routing) used to reach the plain
        catch-all, where Django's CSRF middleware answered a POST with an HTML page."""
        client = Client(enforce_csrf_checks=True)
        foreign: dict[str, Any] = {
            "HTTP_ORIGIN": "https://elsewhere.example",
            "HTTP_COOKIE": "csrftoken=x",
        }
        link = "/api/v1/invites/https%3A%2F%2Fhaven.example%2Finvite%2Fabc/join"
        for path, status, error in (
            (link, 404, "Not found"),
            ("/api/v1/nope", 404, "Not found"),
            ("/api/v1/invites/abc/join", 401, "Missing authorization header"),
        ):
            response = client.post(path, b"{}", content_type="application/json", **foreign)
            assert response.status_code == status, path
            assert response.headers["Content-Type"] == "application/json", path
            assert response.json() == {"error": error, "status": status}, path

    def test_cookie_pages_keep_csrf(self) -> None:
        client = Client(enforce_csrf_checks=True)
        response = client.post("/admin/login/", {"username": "a", "password": "b"})
        assert response.status_code == 403

    def test_client_app_is_served_for_other_paths(self, api: Api) -> None:
        response = api.get("/channels/123")
        assert response.status_code == 200
        assert b"<" in response.content
        assert response.headers["Content-Type"].startswith("text/html")
