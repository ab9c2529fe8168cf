"""Rate limits of api.md 5 / operations.md 4.1 exercised as a whole:
the auth limiter is one per-address budget over the five public auth routes, the write limiter
is one per-user bucket over invites, attachment uploads and emoji uploads, and the global limit
also counts the WebSocket upgrade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from channels.testing import WebsocketCommunicator

from tests.factories import PNG, make_server
from tests.helpers import Api, b64, haven_settings, key_material

P = "/api/v1"
LIMITED = {"error": "Rate limit exceeded — try again later", "status": 400}


@pytest.fixture(autouse=True)
def _limits_off_by_default() -> Iterator[None]:
    """The suite runs with rate limits on (the default): set-up requests must not count."""
    with haven_settings(rate_limits_enabled=False):
        yield


@pytest.mark.django_db
def test_auth_limiter_is_one_budget_over_the_five_routes(api: Api) -> None:
    user = api.register("alice")
    with haven_settings(rate_limits_enabled=True):
        statuses = [
            api.get(f"{P}/auth/challenge", token="").status_code,
            api.get(f"{P}/auth/challenge", token="").status_code,
            api.post(
                f"{P}/auth/login", {"username": "alice", "password": "wrong-pass"}
            ).status_code,
            api.post(
                f"{P}/auth/login", {"username": "alice", "password": "wrong-pass"}
            ).status_code,
            api.post(f"{P}/auth/refresh", {"refresh_token": "x" * 64}, token="").status_code,
            api.post(f"{P}/auth/refresh", {"refresh_token": "y" * 64}, token="").status_code,
            api.get(f"{P}/auth/invite-required", token="").status_code,
            api.get(f"{P}/auth/invite-required", token="").status_code,
            api.post(
                f"{P}/auth/register",
                {"username": "bo", "password": "x" * 10, **key_material("b")},
                token="",
            ).status_code,
            api.post(
                f"{P}/auth/register",
                {"username": "bo", "password": "x" * 10, **key_material("b")},
                token="",
            ).status_code,
        ]
        assert 429 not in statuses, repr(statuses)
        over = [
            api.get(f"{P}/auth/challenge", token="").status_code,
            api.post(
                f"{P}/auth/login", {"username": "alice", "password": user.password}
            ).status_code,
            api.post(
                f"{P}/auth/refresh", {"refresh_token": user.refresh_token}, token=""
            ).status_code,
            api.get(f"{P}/auth/invite-required", token="").status_code,
        ]
    assert over == [429] * 4


@pytest.mark.django_db
def test_write_limiter_is_one_bucket_for_invites_uploads_and_emojis(
    api: Api, media_root: object
) -> None:
    alice = api.register("alice")
    server = make_server(alice.id).server
    as_alice = api.as_("alice")
    with haven_settings(rate_limits_enabled=True):
        for i in range(10):
            assert as_alice.post(f"{P}/servers/{server.id}/invites", {}).status_code == 200
            assert as_alice.post(f"{P}/attachments/upload", raw=b"blob").status_code == 200
            emoji = as_alice.post(f"{P}/servers/{server.id}/emojis?name=e_{i}", raw=PNG)
            assert emoji.status_code == 200, emoji
        invite = as_alice.post(f"{P}/servers/{server.id}/invites", {})
        upload = as_alice.post(f"{P}/attachments/upload", raw=b"blob")
        emoji = as_alice.post(f"{P}/servers/{server.id}/emojis?name=late", raw=PNG)
    assert (invite.status_code, invite.json()) == (400, LIMITED)
    assert (upload.status_code, upload.json()) == (400, LIMITED)
    assert (emoji.status_code, emoji.json()) == (400, LIMITED)


@pytest.mark.django_db
def test_write_limiter_counts_refused_attempts(api: Api) -> None:
    """api.md 2.13: the limiter is step 1, before PERM: attempts refused later still count."""
    api.register("alice")
    api.register("bob")
    sid = api.as_("alice").post(f"{P}/servers", {"encrypted_meta": b64(b"m")}).json()["id"]
    everyone = api.as_("alice").get(f"{P}/servers/{sid}/roles").json()[0]
    api.as_("alice").put(f"{P}/servers/{sid}/roles/{everyone['id']}", {"permissions": "0"})
    with haven_settings(rate_limits_enabled=True):
        for _ in range(30):
            assert api.as_("bob").post(f"{P}/servers/{sid}/invites", {}).status_code == 403
        upload = api.as_("bob").post(f"{P}/attachments/upload", raw=b"blob")
    assert (upload.status_code, upload.json()) == (400, LIMITED)


@pytest.mark.django_db(transaction=True)
async def test_websocket_upgrade_counts_against_the_global_limit(api: Api) -> None:
    """api.md 5 / websocket.md 8: the global per-IP limit applies to the upgrade request; over
    it the handshake is refused (429 before the upgrade)."""
    from asgiref.sync import sync_to_async

    from haven_site.asgi import application

    user = await sync_to_async(api.register)("alice")
    results = []
    with haven_settings(rate_limits_enabled=True, max_requests_per_minute=2):
        for _ in range(3):
            comm = WebsocketCommunicator(application, f"/api/v1/ws?token={user.access_token}")
            comm.scope["client"] = ("198.51.100.77", 5000)
            connected, _ = await comm.connect(timeout=3)
            results.append(connected)
            if connected:
                await comm.disconnect()
    assert results == [True, True, False]


@pytest.mark.django_db
def test_link_preview_per_user_limit(api: Api) -> None:
    """docs/files-and-voice.md: 60 previews per user per minute, then 429 `Rate limited` (a port
    addition with no existing test). Refused URLs count too (the limiter comes first)."""
    api.register("alice")
    api.register("bob")
    with haven_settings(rate_limits_enabled=True):
        statuses = {
            api.as_("alice").get(f"{P}/link-preview?url=ftp://example.com/{i}").status_code
            for i in range(60)
        }
        over = api.as_("alice").get(f"{P}/link-preview?url=ftp://example.com/x")
        other = api.as_("bob").get(f"{P}/link-preview?url=ftp://example.com/x")
    assert statuses == {400}
    assert (over.status_code, over.json()) == (429, {"error": "Rate limited", "status": 429})
    assert other.status_code == 400
