"""Django admin for instance moderation: sign-in (with TOTP), users, sessions, invites."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.test import Client

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
