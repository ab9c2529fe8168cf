"""Django admin for instance moderation: sign-in (with TOTP), users, sessions, invites."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client

from accounts.admin_login import TOO_MANY_ATTEMPTS
from accounts.models import DeviceSession, User
from invites.models import RegistrationInvite
from tests.helpers import PASSWORD, Api, haven_settings

pytestmark = pytest.mark.django_db


def admin_login(username: str, password: str = PASSWORD, code: str = "") -> tuple[Client, int]:
    browser = Client()
    response = browser.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "totp_code": code},
    )
    return browser, response.status_code


def test_only_instance_admins_get_in(api: Api) -> None:
    api.register("admin")
    api.register("bob")
    _, status = admin_login("admin")
    assert status == 302
    _, status = admin_login("bob")
    assert status == 200  # the form again, with an error


def test_admins_with_two_factor_need_their_code(api: Api) -> None:
    api.register("admin")
    secret = api.as_("admin").post("/api/v1/auth/totp/setup").json()["secret"]
    totp = pyotp.TOTP(secret)
    api.as_("admin").post("/api/v1/auth/totp/verify", {"code": totp.now()})
    _, status = admin_login("admin")
    assert status == 200
    _, status = admin_login("admin", code="000000" if totp.now() != "000000" else "111111")
    assert status == 200
    _, status = admin_login("admin", code=totp.at(time.time() + 30))
    assert status == 302


def test_pages_and_actions(api: Api) -> None:
    with haven_settings(registration_invite_only=True):
        api.register("admin")
    browser, _ = admin_login("admin")
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/user/?q=adm",
        "/admin/accounts/devicesession/",
        "/admin/invites/registrationinvite/",
        "/admin/invites/registrationinvite/?q=x",
    ):
        assert browser.get(path).status_code == 200, path

    invites = list(RegistrationInvite.objects.values_list("id", flat=True))
    response = browser.post(
        "/admin/invites/registrationinvite/",
        {"action": "revoke_unused", "_selected_action": [str(invites[0])]},
    )
    assert response.status_code == 302
    assert RegistrationInvite.objects.count() == len(invites) - 1

    admin = User.objects.get(username="admin")
    api_login = api.post("/api/v1/auth/login", {"username": "admin", "password": PASSWORD}).json()
    sessions = DeviceSession.objects.filter(user=admin).count()
    assert sessions >= 1
    browser.post(
        "/admin/accounts/user/", {"action": "end_sessions", "_selected_action": [str(admin.id)]}
    )
    assert not DeviceSession.objects.filter(user=admin).exists()
    assert api.get("/api/v1/auth/sessions", token=api_login["access_token"]).status_code == 401


# --- Sign-in limit: the API's auth limiter, one budget per address ------------------------------


def admin_attempt(address: str, username: str, password: str = PASSWORD) -> tuple[int, str]:
    response = Client(REMOTE_ADDR=address).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    return response.status_code, response.content.decode()


def api_login(address: str, username: str, password: str = PASSWORD) -> int:
    response = Client(REMOTE_ADDR=address).post(
        "/api/v1/auth/login",
        {"username": username, "password": password},
        content_type="application/json",
    )
    return response.status_code


def test_failed_admin_sign_ins_lock_the_address_out_like_the_api(api: Api) -> None:
    api.register("admin")
    with haven_settings(rate_limits_enabled=True):
        for _ in range(10):
            status, page = admin_attempt("198.51.100.20", "admin", "wrong password")
            assert status == 200
            assert TOO_MANY_ATTEMPTS not in page
        # Spent: even the right password is refused, and nothing says whether it was right.
        status, page = admin_attempt("198.51.100.20", "admin")
        assert (status, TOO_MANY_ATTEMPTS in page) == (200, True)
        assert "correct username and password" not in page
        # The API's login from that address is refused too (one budget), another address is not.
        assert api_login("198.51.100.20", "admin") == 429
        assert admin_attempt("198.51.100.21", "admin")[0] == 302


def test_failed_api_logins_lock_the_admin_sign_in_too(api: Api) -> None:
    api.register("admin")
    with haven_settings(rate_limits_enabled=True):
        assert [api_login("198.51.100.30", "admin", "wrong") for _ in range(11)] == (
            [401] * 10 + [429]
        )
        status, page = admin_attempt("198.51.100.30", "admin")
        assert (status, TOO_MANY_ATTEMPTS in page) == (200, True)


def test_a_non_admin_cannot_sign_in_and_spends_the_budget_too(api: Api) -> None:
    api.register("admin")
    api.register("bob")
    with haven_settings(rate_limits_enabled=True):
        for _ in range(10):
            status, page = admin_attempt("198.51.100.40", "bob")  # bob's right password
            assert status == 200
            assert "staff account" in page
        assert TOO_MANY_ATTEMPTS in admin_attempt("198.51.100.40", "admin")[1]
    browser, status = admin_login("bob")
    assert status == 200
    assert browser.get("/admin/").status_code == 302  # back to the sign-in page
