"""Refresh tokens, session families, logout, password change, account deletion (api.md 2.1, 2.3)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.models import DeviceSession, RefreshToken, User
from chat.models import Server, ServerMember
from realtime.events import capture_events
from tests.helpers import PASSWORD, Api, Response


def refresh(api: Api, token: str) -> Response:
    return api.post("/api/v1/auth/refresh", {"refresh_token": token}, token="")


@pytest.mark.django_db
class TestRefresh:
    def test_rotation_gives_new_tokens_in_same_family(self, api: Api) -> None:
        alice = api.register("alice")
        response = refresh(api, alice.refresh_token)
        assert response.status_code == 200
        data = response.json()
        assert data["refresh_token"] != alice.refresh_token
        assert data["user"]["username"] == "alice"
        assert DeviceSession.objects.filter(user_id=alice.id).count() == 1
        assert api.get("/api/v1/auth/sessions", token=data["access_token"]).status_code == 200

    def test_unknown_token(self, api: Api) -> None:
        response = refresh(api, "x" * 64)
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid or expired refresh token", "status": 401}

    def test_reuse_revokes_every_session_and_their_access_tokens(self, api: Api) -> None:
        alice = api.register("alice")
        other = api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD}).json()
        rotated = refresh(api, alice.refresh_token).json()
        replay = refresh(api, alice.refresh_token)
        assert replay.status_code == 401
        assert replay.json()["error"] == (
            "Token reuse detected — all sessions revoked for security. Please log in again."
        )
        assert not DeviceSession.objects.filter(user_id=alice.id).exists()
        for token in (rotated["access_token"], other["access_token"], alice.access_token):
            response = api.get("/api/v1/auth/sessions", token=token)
            assert response.status_code == 401
            assert response.json()["error"] == "Invalid token"
        assert refresh(api, rotated["refresh_token"]).status_code == 401

    def test_expired_token_is_refused(self, api: Api) -> None:
        alice = api.register("alice")
        RefreshToken.objects.update(expires_at="2000-01-01T00:00:00Z")
        assert refresh(api, alice.refresh_token).status_code == 401

    def test_session_metadata_survives_refresh(self, api: Api) -> None:
        response = api.post(
            "/api/v1/auth/register",
            {
                "username": "alice",
                "password": PASSWORD,
                "identity_key": "",
                "signed_prekey": "",
                "signed_prekey_signature": "",
                "one_time_prekeys": [],
            },
            headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"},
        )
        data = response.json()
        rotated = refresh(api, data["refresh_token"]).json()
        sessions = api.get("/api/v1/auth/sessions", token=rotated["access_token"]).json()
        assert len(sessions) == 1
        session = sessions[0]
        assert session["device_name"] == "Firefox on Linux"
        assert session["ip_address"] == "127.0.x.x"
        assert session["is_current"] is True
        assert set(session) == {
            "id", "family_id", "device_name", "ip_address", "last_activity", "created_at",
            "is_current",
        }  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_with_one_token_has_one_winner(api: Api) -> None:
    alice = api.register("alice")
    results: list[int] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            results.append(refresh(Api(), alice.refresh_token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(200) <= 1
    assert 200 in results or not DeviceSession.objects.exists()


@pytest.mark.django_db
class TestSessionsAndLogout:
    def test_list_and_revoke(self, api: Api) -> None:
        alice = api.register("alice")
        second = api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD}).json()
        sessions = api.as_("alice").get("/api/v1/auth/sessions").json()
        assert len(sessions) == 2
        assert sorted(s["family_id"] for s in sessions) == [s["family_id"] for s in sessions]
        other = next(s for s in sessions if not s["is_current"])
        response = api.as_("alice").delete(f"/api/v1/auth/sessions/{other['family_id']}")
        assert response.json() == {"message": "Session revoked"}
        assert api.get("/api/v1/auth/sessions", token=second["access_token"]).status_code == 401
        assert api.as_("alice").get("/api/v1/auth/sessions").status_code == 200
        again = api.as_("alice").delete(f"/api/v1/auth/sessions/{other['family_id']}")
        assert again.status_code == 404
        assert again.json() == {"error": "Session not found", "status": 404}
        assert alice.id

    def test_cannot_revoke_another_users_session(self, api: Api) -> None:
        api.register("alice")
        bob = api.register("bob")
        bob_family = str(DeviceSession.objects.get(user_id=bob.id).id)
        response = api.as_("alice").delete(f"/api/v1/auth/sessions/{bob_family}")
        assert response.status_code == 404
        assert DeviceSession.objects.filter(user_id=bob.id).exists()

    def test_bad_family_id_is_400(self, api: Api) -> None:
        api.register("alice")
        response = api.as_("alice").delete("/api/v1/auth/sessions/not-a-uuid")
        assert response.status_code == 400
        assert response.json()["error"].startswith("Invalid URL")

    def test_logout_ends_every_session_and_publishes_offline(
        self, api: Api, django_capture_on_commit_callbacks: object
    ) -> None:
        alice = api.register("alice")
        server = Server.objects.create(owner_id=alice.id)
        ServerMember.objects.create(server=server, user_id=alice.id)
        with capture_events() as events, django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            response = api.as_("alice").post("/api/v1/auth/logout")
        assert response.json() == {"message": "Logged out"}
        assert api.as_("alice").get("/api/v1/auth/sessions").status_code == 401
        assert refresh(api, alice.refresh_token).status_code == 401
        offline = [e for e in events if e.type == "PresenceUpdate"]
        assert offline
        assert offline[0].payload == {"user_id": alice.id, "status": "offline"}
        assert offline[0].audience.servers == {server.id}


@pytest.mark.django_db
class TestAuthHeader:
    def test_missing_header(self, api: Api) -> None:
        response = api.get("/api/v1/auth/sessions")
        assert response.status_code == 401
        assert response.json() == {"error": "Missing authorization header", "status": 401}

    def test_wrong_scheme(self, api: Api) -> None:
        response = api.get("/api/v1/auth/sessions", headers={"authorization": "Token abc"})
        assert response.json()["error"] == "Invalid authorization format"

    def test_garbage_token(self, api: Api) -> None:
        response = api.get("/api/v1/auth/sessions", token="abc.def.ghi")
        assert response.json() == {"error": "Invalid token", "status": 401}

    def test_expired_token(self, api: Api, settings: object) -> None:
        from datetime import UTC, datetime, timedelta

        from rest_framework_simplejwt.state import token_backend

        alice = api.register("alice")
        family = DeviceSession.objects.get(user_id=alice.id).id
        past = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
        token = token_backend.encode(
            {"sub": alice.id, "sid": str(family), "iat": past, "exp": past + 60, "jti": "x"}
        )
        response = api.get("/api/v1/auth/sessions", token=token)
        assert response.json() == {"error": "Token expired", "status": 401}

    def test_token_signed_with_another_key(self, api: Api) -> None:
        import jwt

        alice = api.register("alice")
        family = DeviceSession.objects.get(user_id=alice.id).id
        forged = jwt.encode(
            {"sub": alice.id, "sid": str(family), "exp": 4102444800, "iat": 0, "jti": "x"},
            "another-secret-that-is-long-enough-123",
            algorithm="HS256",
        )
        assert api.get("/api/v1/auth/sessions", token=forged).json()["error"] == "Invalid token"


@pytest.mark.django_db
class TestPasswordAndDeletion:
    def test_change_password(self, api: Api) -> None:
        api.register("alice")
        alice = api.as_("alice")
        wrong = alice.put(
            "/api/v1/auth/password",
            {"current_password": "nope-nope-nope", "new_password": "another password"},
        )
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "Current password is incorrect"
        short = alice.put(
            "/api/v1/auth/password", {"current_password": PASSWORD, "new_password": "short"}
        )
        assert short.status_code == 400
        assert short.json()["error"] == "New password must be 8-128 characters"
        ok = alice.put(
            "/api/v1/auth/password",
            {"current_password": PASSWORD, "new_password": "another password"},
        )
        assert ok.json() == {"message": "Password changed"}
        assert alice.get("/api/v1/auth/sessions").status_code == 401
        login = api.post(
            "/api/v1/auth/login", {"username": "alice", "password": "another password"}
        )
        assert login.status_code == 200
        old = api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD})
        assert old.status_code == 401

    def test_delete_account(self, api: Api, django_capture_on_commit_callbacks: object) -> None:
        alice = api.register("alice")
        wrong = api.as_("alice").post("/api/v1/auth/delete-account", {"password": "not it!!"})
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "Incorrect password"
        with capture_events() as events, django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
            response = api.as_("alice").post("/api/v1/auth/delete-account", {"password": PASSWORD})
        assert response.status_code == 204
        assert response.content == b""
        assert not User.objects.filter(id=alice.id).exists()
        assert api.as_("alice").get("/api/v1/auth/sessions").status_code == 401
        errors = [e for e in events if e.type == "Error"]
        assert errors[0].payload == {"message": "Account deleted"}
