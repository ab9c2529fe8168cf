"""Instance moderation of accounts over the API (docs/moderation.md): suspension, a required
password change, 2FA reset, instance admin granted and taken, each recorded in the instance
audit log."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from accounts.actions import admin as actions
from accounts.actions.instance_audit import Actor
from accounts.actions.sessions import do_start_session
from accounts.models import DeviceSession, InstanceAuditEntry, User
from haven_site.api.encoding import ts
from tests.helpers import PASSWORD, Api, Response, TestUser

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase"


def login(api: Api, username: str, **extra: object) -> Response:
    return api.post(
        "/api/v1/auth/login", {"username": username, "password": PASSWORD, **extra}, token=""
    )


def refresh(api: Api, token: str) -> Response:
    return api.post("/api/v1/auth/refresh", {"refresh_token": token}, token="")


@pytest.fixture
def admin(api: Api) -> User:
    return User.objects.get(id=api.register("admin").id)  # the first user is the admin


@pytest.fixture
def bob(api: Api, admin: User) -> TestUser:
    return api.register("bob")


def _user(test_user: TestUser) -> User:
    return User.objects.get(id=test_user.id)


def _entries() -> list[tuple[str, str, str, str]]:
    return [
        (e.action, e.actor_name, e.target_label, e.reason)
        for e in InstanceAuditEntry.objects.order_by("created_at")
    ]


# --- suspension -----------------------------------------------------------------------------


def test_a_suspended_user_cannot_sign_in_refresh_or_use_a_token(
    api: Api, admin: User, bob: TestUser
) -> None:
    until = timezone.now() + timedelta(days=3)
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Spam in #general", until=until)

    response = api.get("/api/v1/auth/sessions", token=bob.access_token)
    assert response.json() == {"error": "Invalid token", "status": 401}
    assert refresh(api, bob.refresh_token).json() == {
        "error": "Invalid or expired refresh token",
        "status": 401,
    }
    stamp = ts(_user(bob).suspended_until)
    assert stamp == ts(until)
    response = login(api, "bob")
    assert response.status_code == 403
    assert response.json() == {
        "error": f"Account suspended until {stamp}: Spam in #general",
        "status": 403,
        "code": "account_suspended",
        "reason": "Spam in #general",
        "suspended_until": stamp,
    }
    assert not DeviceSession.objects.filter(user_id=bob.id).exists()
    assert _entries() == [("user_suspend", "admin", "bob", "Spam in #general")]

    actions.do_unsuspend(Actor.admin(admin), _user(bob), reason="appeal accepted")
    assert login(api, "bob").status_code == 200
    assert _entries()[-1] == ("user_unsuspend", "admin", "bob", "appeal accepted")


def test_an_indefinite_suspension_and_a_wrong_password(
    api: Api, admin: User, bob: TestUser
) -> None:
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Harassment")
    assert login(api, "bob").json() == {
        "error": "Account suspended: Harassment",
        "status": 403,
        "code": "account_suspended",
        "reason": "Harassment",
        "suspended_until": None,
    }
    # Nothing about the suspension without the right password.
    wrong = api.post("/api/v1/auth/login", {"username": "bob", "password": "nope nope"})
    assert wrong.json() == {"error": "Invalid username or password", "status": 401}


def test_the_suspension_ends_by_itself(api: Api, admin: User, bob: TestUser) -> None:
    until = timezone.now() + timedelta(hours=1)
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Cool down", until=until)
    assert login(api, "bob").status_code == 403
    User.objects.filter(id=bob.id).update(suspended_until=timezone.now() - timedelta(seconds=1))
    response = login(api, "bob")
    assert response.status_code == 200, response
    assert (
        api.get("/api/v1/auth/sessions", token=response.json()["access_token"]).status_code == 200
    )
    with pytest.raises(Exception, match="bob is not suspended"):
        actions.do_unsuspend(Actor.admin(admin), _user(bob))


def test_a_session_that_raced_the_suspension_is_refused_too(
    api: Api, admin: User, bob: TestUser
) -> None:
    """A sign-in that passed its checks just before the suspension committed still holds
    tokens: the token check and the refresh refuse them while the suspension lasts."""
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Spam")
    tokens = do_start_session(_user(bob), user_agent=None, ip=None)
    assert api.get("/api/v1/auth/sessions", token=tokens.access).status_code == 401
    response = refresh(api, tokens.refresh)
    assert (response.status_code, response.json()["code"]) == (403, "account_suspended")


def test_suspension_rules(api: Api, admin: User, bob: TestUser) -> None:
    actor = Actor.admin(admin)
    cases = [
        (lambda: actions.do_suspend(actor, admin, reason="x"), "Cannot suspend yourself"),
        (lambda: actions.do_suspend(actor, _user(bob), reason="  "), "A reason is required"),
        (
            lambda: actions.do_suspend(actor, _user(bob), reason="x" * 1001),
            "The reason must be at most 1000 characters",
        ),
        (
            lambda: actions.do_suspend(
                actor, _user(bob), reason="x", until=timezone.now() - timedelta(seconds=1)
            ),
            "The suspension must end in the future",
        ),
        (lambda: actions.do_unsuspend(actor, _user(bob)), "bob is not suspended"),
    ]
    for call, message in cases:
        with pytest.raises(Exception, match=message):
            call()
    assert not _user(bob).is_suspended
    assert _entries() == []


def test_totp_users_learn_of_the_suspension_after_their_code(
    api: Api, admin: User, bob: TestUser
) -> None:
    secret = api.as_("bob").post("/api/v1/auth/totp/setup").json()["secret"]
    totp = pyotp.TOTP(secret)
    api.as_("bob").post("/api/v1/auth/totp/verify", {"code": totp.now()})
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Spam")
    assert login(api, "bob").json() == {"totp_required": True}
    response = login(api, "bob", totp_code=totp.at(time.time() + 30))
    assert (response.status_code, response.json()["code"]) == (403, "account_suspended")


# --- password change required ---------------------------------------------------------------


def test_a_required_password_change_at_the_next_sign_in(
    api: Api, admin: User, bob: TestUser
) -> None:
    actions.do_require_password_change(Actor.admin(admin), _user(bob), reason="leaked")
    assert api.get("/api/v1/auth/sessions", token=bob.access_token).status_code == 401
    assert login(api, "bob").json() == {
        "error": "Password change required: sign in again with a new_password",
        "status": 403,
        "code": "password_change_required",
    }
    assert login(api, "bob", new_password="short").json() == {
        "error": "New password must be 8-128 characters",
        "status": 400,
    }
    assert login(api, "bob", new_password=PASSWORD).json() == {
        "error": "New password must differ from the current one",
        "status": 400,
    }
    assert login(api, "bob", new_password=7).status_code == 422
    response = login(api, "bob", new_password=NEW_PASSWORD)
    assert response.status_code == 200, response
    assert response.json()["user"]["username"] == "bob"
    assert not _user(bob).password_change_required
    assert login(api, "bob").status_code == 401  # the old password is gone
    again = api.post("/api/v1/auth/login", {"username": "bob", "password": NEW_PASSWORD})
    assert again.status_code == 200
    # new_password is ignored when no change is required.
    ignored = api.post(
        "/api/v1/auth/login",
        {"username": "bob", "password": NEW_PASSWORD, "new_password": "ignored-entirely"},
    )
    assert ignored.status_code == 200
    assert _entries() == [("password_change_require", "admin", "bob", "leaked")]


def test_the_change_is_asked_for_before_the_totp_code_is_spent(
    api: Api, admin: User, bob: TestUser
) -> None:
    secret = api.as_("bob").post("/api/v1/auth/totp/setup").json()["secret"]
    totp = pyotp.TOTP(secret)
    api.as_("bob").post("/api/v1/auth/totp/verify", {"code": totp.now()})
    actions.do_require_password_change(Actor.admin(admin), _user(bob))
    code = totp.at(time.time() + 30)
    refused = login(api, "bob", totp_code=code)
    assert refused.json()["code"] == "password_change_required"
    response = login(api, "bob", totp_code=code, new_password=NEW_PASSWORD)  # same code: unspent
    assert response.status_code == 200, response


def test_a_suspended_user_with_a_required_change_keeps_the_old_password(
    api: Api, admin: User, bob: TestUser
) -> None:
    actions.do_require_password_change(Actor.admin(admin), _user(bob))
    actions.do_suspend(Actor.admin(admin), _user(bob), reason="Spam")
    response = login(api, "bob", new_password=NEW_PASSWORD)
    assert response.json()["code"] == "account_suspended"
    assert _user(bob).check_password(PASSWORD)


# --- 2FA reset, admin flag --------------------------------------------------------------------


def test_resetting_two_factor_authentication(api: Api, admin: User, bob: TestUser) -> None:
    assert actions.do_reset_2fa(Actor.admin(admin), _user(bob)) is False  # not on: no entry
    secret = api.as_("bob").post("/api/v1/auth/totp/setup").json()["secret"]
    api.as_("bob").post("/api/v1/auth/totp/verify", {"code": pyotp.TOTP(secret).now()})
    assert login(api, "bob").json() == {"totp_required": True}
    assert actions.do_reset_2fa(Actor.admin(admin), _user(bob), reason="lost phone") is True
    response = login(api, "bob")
    assert response.status_code == 200
    assert response.json()["user"]["totp_enabled"] is False
    assert _entries() == [("totp_reset", "admin", "bob", "lost phone")]


def test_admin_flag_changes_are_recorded_whichever_door(
    api: Api, admin: User, bob: TestUser
) -> None:
    response = api.as_("admin").put(f"/api/v1/admin/users/{bob.id}/admin", {"is_admin": True})
    assert response.json() == {"user_id": bob.id, "is_instance_admin": True}
    # Setting what is already set changes and records nothing.
    api.as_("admin").put(f"/api/v1/admin/users/{bob.id}/admin", {"is_admin": True})
    actions.do_set_admin(Actor.command("promote_admin"), bob_id := _user(bob).id, False)
    assert not User.objects.get(id=bob_id).is_instance_admin
    rows = list(InstanceAuditEntry.objects.order_by("created_at"))
    assert [(r.action, r.via, r.actor_id) for r in rows] == [
        ("admin_grant", "api", admin.id),
        ("admin_revoke", "command", None),
    ]
    assert rows[1].actor_name.startswith("manage.py promote_admin (")
    refused = api.as_("admin").put(f"/api/v1/admin/users/{admin.id}/admin", {"is_admin": False})
    assert refused.json() == {"error": "Cannot remove your own admin status", "status": 400}


def test_the_admin_api_deletion_is_recorded(api: Api, admin: User, bob: TestUser) -> None:
    response = api.as_("admin").delete(f"/api/v1/admin/users/{bob.id}")
    assert response.json() == {"deleted": True, "user_id": bob.id}
    [entry] = InstanceAuditEntry.objects.all()
    assert (entry.action, entry.target_label, str(entry.target_id)) == (
        "user_delete",
        "bob",
        bob.id,
    )


def test_sign_out_everywhere_is_recorded(api: Api, admin: User, bob: TestUser) -> None:
    login(api, "bob")
    assert actions.do_sign_out_everywhere(Actor.admin(admin), _user(bob)) == 2
    assert api.get("/api/v1/auth/sessions", token=bob.access_token).status_code == 401
    [entry] = InstanceAuditEntry.objects.all()
    assert (entry.action, entry.details) == ("sessions_revoke", {"sessions": 2, "all": True})
