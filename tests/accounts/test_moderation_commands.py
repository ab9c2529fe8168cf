"""The moderation commands (docs/moderation.md): suspend_user, unsuspend_user, revoke_sessions,
reset_2fa, promote_admin. Each does what its action does, says what it did, records itself
(actor: the command and the OS user) and exits non-zero on failure; each has --help."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import DeviceSession, InstanceAuditEntry, User
from tests.helpers import PASSWORD, Api
from tests.processes import embedded_env, manage

COMMANDS = ("suspend_user", "unsuspend_user", "revoke_sessions", "reset_2fa", "promote_admin")


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def login(api: Api, username: str) -> int:
    body = {"username": username, "password": PASSWORD}
    return api.post("/api/v1/auth/login", body, token="").status_code


def last_entry() -> InstanceAuditEntry:
    entry = InstanceAuditEntry.objects.order_by("-created_at").first()
    assert entry is not None
    return entry


@pytest.fixture
def bob(api: Api) -> User:
    api.register("admin")
    return User.objects.get(id=api.register("bob").id)


@pytest.mark.django_db
def test_suspend_and_unsuspend(api: Api, bob: User) -> None:
    said = run("suspend_user", "BOB", "--reason", "Spam", "--days", "2")
    assert said.startswith("Suspended bob until ")
    assert said.endswith(" UTC; every session ended.")
    bob.refresh_from_db()
    assert bob.is_suspended
    assert bob.suspended_until is not None
    assert timedelta(days=2) - (bob.suspended_until - timezone.now()) < timedelta(minutes=1)
    assert not DeviceSession.objects.filter(user=bob).exists()
    assert login(api, "bob") == 403
    entry = last_entry()
    assert (entry.action, entry.via, entry.reason, entry.actor_id) == (
        "user_suspend",
        "command",
        "Spam",
        None,
    )
    assert entry.actor_name.startswith("manage.py suspend_user (")

    assert run("suspend_user", str(bob.id), "--reason", "Worse", "--until", "2999-01-01") == (
        "Suspended bob until 2999-01-01 00:00 UTC; every session ended."
    )
    assert run("suspend_user", "bob", "--reason", "For good") == (
        "Suspended bob until lifted; every session ended."
    )
    assert run("unsuspend_user", "bob", "--reason", "appeal") == (
        "bob is no longer suspended and can sign in again."
    )
    assert login(api, "bob") == 200
    assert last_entry().action == "user_unsuspend"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("suspend_user", "nobody", "--reason", "x"), "User not found (nobody)"),
        (("suspend_user", "bob", "--reason", " "), "A reason is required (bob)"),
        (("suspend_user", "bob", "--reason", "x", "--days", "0"), "--days must be between"),
        (("suspend_user", "bob", "--reason", "x", "--until", "soon"), "is not a date"),
        (("suspend_user", "bob", "--reason", "x", "--until", "2001-01-01"), "end in the future"),
        (("unsuspend_user", "bob"), "bob is not suspended (bob)"),
        (("revoke_sessions", "nobody"), "User not found (nobody)"),
        (("reset_2fa", "nobody"), "User not found (nobody)"),
        (("promote_admin", "nobody"), "User not found (nobody)"),
    ],
)
def test_failures_raise_and_change_nothing(bob: User, args: tuple[str, ...], error: str) -> None:
    with pytest.raises(CommandError, match=error.replace("(", r"\(").replace(")", r"\)")):
        run(*args)
    assert not User.objects.get(id=bob.id).is_suspended
    assert not InstanceAuditEntry.objects.exists()


@pytest.mark.django_db
def test_suspend_needs_a_reason(bob: User) -> None:
    with pytest.raises(CommandError, match="--reason"):
        run("suspend_user", "bob")


@pytest.mark.django_db
def test_revoke_sessions(api: Api, bob: User) -> None:
    login(api, "bob")
    assert run("revoke_sessions", "bob", "--reason", "stolen laptop") == (
        "Ended 2 session(s) of bob."
    )
    assert not DeviceSession.objects.filter(user=bob).exists()
    assert (last_entry().action, last_entry().reason) == ("sessions_revoke", "stolen laptop")
    assert login(api, "bob") == 200  # not a suspension


@pytest.mark.django_db
def test_reset_2fa(api: Api, bob: User) -> None:
    assert run("reset_2fa", "bob") == "bob has no two-factor authentication; nothing changed."
    secret = api.as_("bob").post("/api/v1/auth/totp/setup").json()["secret"]
    api.as_("bob").post("/api/v1/auth/totp/verify", {"code": pyotp.TOTP(secret).now()})
    assert run("reset_2fa", "bob", "--reason", "lost phone") == (
        "Two-factor authentication of bob is off."
    )
    bob.refresh_from_db()
    assert not bob.totp_enabled
    assert [e.action for e in InstanceAuditEntry.objects.all()] == ["totp_reset"]


@pytest.mark.django_db
def test_promote_and_demote(bob: User) -> None:
    assert run("promote_admin", "bob") == "bob is now an instance admin."
    assert run("promote_admin", "bob") == "bob already is an instance admin."
    assert User.objects.get(id=bob.id).is_instance_admin
    assert run("promote_admin", "bob", "--demote") == "bob is no longer an instance admin."
    assert run("promote_admin", "bob", "--demote") == "bob is not an instance admin."
    assert not User.objects.get(id=bob.id).is_instance_admin
    actions = [e.action for e in InstanceAuditEntry.objects.order_by("created_at")]
    assert actions == ["admin_grant", "admin_revoke"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str, tmp_path: Path) -> None:
    result = manage(command, "--help", env=embedded_env(tmp_path))
    assert result.returncode == 0
    assert "USER" in result.stdout
    assert "--reason" in result.stdout


def test_a_failure_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    manage("migrate", "--noinput", "-v", "0", env=env)
    result = manage("suspend_user", "ghost", "--reason", "x", env=env, check=False)
    assert result.returncode == 1
    assert "User not found (ghost)" in result.stderr
