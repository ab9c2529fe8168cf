"""Two-factor authentication (api.md 2.2, operations.md 2.14) and its fixed defects."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from django.utils import timezone

from accounts.models import User
from tests.helpers import PASSWORD, Api, Response

pytestmark = pytest.mark.django_db


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def enable_totp(api: Api, username: str) -> str:
    user_api = api.as_(username)
    setup = user_api.post("/api/v1/auth/totp/setup").json()
    verified = user_api.post("/api/v1/auth/totp/verify", {"code": code_at(setup["secret"])})
    assert verified.json() == {"message": "TOTP verified and enabled"}
    return str(setup["secret"])


def login(api: Api, **extra: object) -> Response:
    return api.post("/api/v1/auth/login", {"username": "alice", "password": PASSWORD, **extra})


def test_setup_shape_and_pending_does_not_affect_login(api: Api) -> None:
    api.register("alice")
    setup = api.as_("alice").post("/api/v1/auth/totp/setup")
    assert setup.status_code == 200
    data = setup.json()
    assert len(data["secret"]) == 32
    assert data["qr_code_uri"] == f"otpauth://totp/Haven:alice?secret={data['secret']}&issuer=Haven"
    assert login(api).status_code == 200
    assert "access_token" in login(api).json()


def test_secret_is_sealed_at_rest(api: Api) -> None:
    api.register("alice")
    secret = enable_totp(api, "alice")
    sealed = User.objects.get(username="alice").totp_secret
    assert sealed is not None
    stored = bytes(sealed)
    assert secret.encode() not in stored


def test_two_step_login(api: Api) -> None:
    api.register("alice")
    secret = enable_totp(api, "alice")
    first = login(api)
    assert first.status_code == 200
    assert first.json() == {"totp_required": True}
    wrong = login(api, totp_code="000000" if code_at(secret) != "000000" else "111111")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "Invalid TOTP code", "status": 401}
    assert login(api, totp_code="").status_code == 401
    ok = login(api, totp_code=code_at(secret, 1))
    assert ok.status_code == 200
    assert ok.json()["user"]["totp_enabled"] is True


def test_a_code_cannot_be_replayed(api: Api) -> None:
    api.register("alice")
    secret = enable_totp(api, "alice")
    code = code_at(secret, 1)
    assert login(api, totp_code=code).status_code == 200
    assert login(api, totp_code=code).status_code == 401


def test_setup_twice_when_enabled_fails(api: Api) -> None:
    api.register("alice")
    enable_totp(api, "alice")
    again = api.as_("alice").post("/api/v1/auth/totp/setup")
    assert again.status_code == 400
    assert again.json()["error"] == "TOTP already enabled"


def test_verify_without_pending_keeps_totp_on(api: Api) -> None:
    """The spec's quirk of turning 2FA off here (operations.md 2.14) is fixed: it stays on."""
    api.register("alice")
    secret = enable_totp(api, "alice")
    response = api.as_("alice").post("/api/v1/auth/totp/verify", {"code": code_at(secret, 1)})
    assert response.status_code == 200
    assert User.objects.get(username="alice").totp_enabled


def test_verify_without_anything_set_up(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").post("/api/v1/auth/totp/verify", {"code": "123456"})
    assert response.status_code == 400
    assert response.json()["error"] == "TOTP not set up"


def test_pending_setup_expires(api: Api) -> None:
    api.register("alice")
    secret = api.as_("alice").post("/api/v1/auth/totp/setup").json()["secret"]
    User.objects.filter(username="alice").update(
        pending_totp_created_at=timezone.now() - timedelta(hours=1)
    )
    response = api.as_("alice").post("/api/v1/auth/totp/verify", {"code": code_at(secret)})
    assert response.status_code == 400
    assert not User.objects.get(username="alice").totp_enabled


def test_wrong_code_on_verify(api: Api) -> None:
    api.register("alice")
    api.as_("alice").post("/api/v1/auth/totp/setup")
    response = api.as_("alice").post("/api/v1/auth/totp/verify", {"code": "abcdef"})
    assert response.status_code == 401
    assert not User.objects.get(username="alice").totp_enabled


def test_disable(api: Api) -> None:
    api.register("alice")
    enable_totp(api, "alice")
    response = api.as_("alice").delete("/api/v1/auth/totp")
    assert response.json() == {"message": "TOTP disabled"}
    assert "access_token" in login(api).json()
    assert api.as_("alice").delete("/api/v1/auth/totp").status_code == 200


def test_reenabling_within_one_time_step_accepts_the_new_secret(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The replay guard (the last used time step) belongs to a secret: a fresh secret's first
    code is good even in the step in which the old secret's last code was used."""
    import accounts.totp as totp_module

    now = (int(time.time()) // 30) * 30 + 5.0  # well inside one 30 s step
    monkeypatch.setattr(totp_module, "time", SimpleNamespace(time=lambda: now))
    api.register("alice")
    alice = api.as_("alice")
    first = alice.post("/api/v1/auth/totp/setup").json()["secret"]
    verified = alice.post("/api/v1/auth/totp/verify", {"code": pyotp.TOTP(first).at(now)})
    assert verified.status_code == 200
    assert alice.delete("/api/v1/auth/totp").status_code == 200
    second = alice.post("/api/v1/auth/totp/setup").json()["secret"]
    again = alice.post("/api/v1/auth/totp/verify", {"code": pyotp.TOTP(second).at(now)})
    assert again.status_code == 200, again
    assert User.objects.get(username="alice").totp_enabled
