"""Invite-only registration (operations.md 3, api.md 2.14) and the deployment guide's promise:
the first user registers without a code, is admin and gets 3 codes; each code works once."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.models import User
from invites.models import RegistrationInvite
from tests.helpers import PASSWORD, Api, haven_settings, key_material

pytestmark = pytest.mark.django_db


def body(username: str, **extra: object) -> dict[str, object]:
    return {"username": username, "password": PASSWORD, **key_material(username), **extra}


@pytest.fixture
def invite_only() -> object:
    with haven_settings(registration_invite_only=True):
        yield


@pytest.mark.usefixtures("invite_only")
def test_deployment_guide_walk(api: Api) -> None:
    assert api.get("/api/v1/auth/invite-required").json() == {"invite_required": True}

    # Step 8: the first user needs no code and becomes the instance admin.
    admin = api.register("admin")
    login = api.post("/api/v1/auth/login", {"username": "admin", "password": PASSWORD}).json()
    assert login["user"]["is_instance_admin"] is True

    # Step 9: three codes, visible to their owner.
    codes = api.as_("admin").get("/api/v1/registration-invites").json()
    assert len(codes) == 3
    assert all(len(c["code"]) == 12 and c["used"] is False for c in codes)
    assert {c["created_by"] for c in codes} == {admin.id}
    assert set(codes[0]) == {
        "id",
        "code",
        "created_by",
        "used",
        "used_by",
        "expires_at",
        "created_at",
    }

    # A second user registers with one of them, and gets three of their own.
    code = codes[0]["code"]
    bob = api.register("bob", invite_code=code)
    assert len(api.as_("bob").get("/api/v1/registration-invites").json()) == 3
    used = next(
        c for c in api.as_("admin").get("/api/v1/registration-invites").json() if c["code"] == code
    )
    assert used["used"] is True
    assert used["used_by"] == bob.id

    # Reusing it fails ("Invite codes not working": single-use).
    again = api.post("/api/v1/auth/register", body("carol", invite_code=code))
    assert again.status_code == 400
    assert again.json() == {"error": "This invite code has already been used", "status": 400}

    # An expired code fails with a clear message.
    expired = RegistrationInvite.objects.create(
        code="expiredcode1", created_by_id=admin.id, expires_at=timezone.now() - timedelta(days=1)
    )
    late = api.post("/api/v1/auth/register", body("carol", invite_code=expired.code))
    assert late.status_code == 400
    assert late.json()["error"] == "This invite code has expired"
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.usefixtures("invite_only")
@pytest.mark.parametrize(
    ("code", "message"),
    [
        (None, "Registration invite code required"),
        ("", "Registration invite code required"),
        ("nosuchcode12", "Invalid registration invite code"),
    ],
)
def test_missing_or_unknown_code(api: Api, code: str | None, message: str) -> None:
    api.register("admin")
    response = api.post("/api/v1/auth/register", body("bob", invite_code=code))
    assert response.status_code == 400
    assert response.json()["error"] == message


@pytest.mark.usefixtures("invite_only")
def test_codes_are_case_sensitive(api: Api) -> None:
    api.register("admin")
    code = RegistrationInvite.objects.filter(code__regex=r"[a-z]").first()
    if code is None:
        pytest.skip("no code with a lower-case letter in this draw")
    response = api.post("/api/v1/auth/register", body("bob", invite_code=code.code.upper()))
    assert response.status_code == 400


def test_open_registration_ignores_codes_and_grants_none(api: Api) -> None:
    assert api.get("/api/v1/auth/invite-required").json() == {"invite_required": False}
    api.register("admin")
    api.register("bob", invite_code="whatever")
    assert not RegistrationInvite.objects.exists()


@pytest.mark.usefixtures("invite_only")
def test_failed_registration_does_not_spend_the_code(api: Api) -> None:
    api.register("admin")
    code = RegistrationInvite.objects.first()
    assert code is not None
    bad = api.post("/api/v1/auth/register", body("bob", invite_code=code.code, identity_key="!!"))
    assert bad.status_code == 400
    code.refresh_from_db()
    assert code.used_at is None
    assert api.post("/api/v1/auth/register", body("bob", invite_code=code.code)).status_code == 200


def test_default_expiry_setting(api: Api) -> None:
    with haven_settings(registration_invite_only=True, registration_invite_expiry_days=7):
        api.register("admin")
    invite = RegistrationInvite.objects.first()
    assert invite is not None
    assert invite.expires_at is not None
    assert timedelta(days=6) < invite.expires_at - timezone.now() <= timedelta(days=7)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("invite_only")
def test_two_concurrent_registrations_with_one_code(api: Api) -> None:
    api.register("admin")
    code = RegistrationInvite.objects.first()
    assert code is not None
    statuses: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def register(name: str) -> None:
        barrier.wait()
        try:
            response = Api().post("/api/v1/auth/register", body(name, invite_code=code.code))
            statuses[name] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) == [200, 400]
    assert User.objects.filter(username__in=["bob", "carol"]).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_first_registrations_make_one_admin() -> None:
    barrier = threading.Barrier(2)

    def register(name: str) -> None:
        barrier.wait()
        try:
            Api().post("/api/v1/auth/register", body(name))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert User.objects.count() == 2
    assert User.objects.filter(is_instance_admin=True).count() == 1


class TestAdminRoutes:
    def test_create_list_revoke(self, api: Api) -> None:
        api.register("admin")
        api.register("bob")
        admin = api.as_("admin")
        created = admin.post("/api/v1/admin/registration-invites", {"count": 2})
        assert created.status_code == 200
        assert len(created.json()) == 2
        assert admin.post("/api/v1/admin/registration-invites", {}).json()[0]["code"]
        assert len(admin.post("/api/v1/admin/registration-invites", {"count": 500}).json()) == 50
        assert admin.post("/api/v1/admin/registration-invites", {"count": 0}).json() == []
        assert admin.post("/api/v1/admin/registration-invites", {"count": -1}).status_code == 422
        assert admin.post("/api/v1/admin/registration-invites", {"count": "2"}).status_code == 422

        listed = admin.get("/api/v1/admin/registration-invites?limit=5&offset=1").json()
        assert len(listed) == 5
        assert admin.get("/api/v1/admin/registration-invites?limit=0").json() == []
        assert admin.get("/api/v1/admin/registration-invites?limit=abc").status_code == 400

        target = created.json()[0]["id"]
        assert admin.delete(f"/api/v1/admin/registration-invites/{target}").json() == {
            "deleted": True
        }
        gone = admin.delete(f"/api/v1/admin/registration-invites/{target}")
        assert gone.status_code == 404
        assert gone.json()["error"] == "Invite not found or already used"

    @pytest.mark.parametrize("name", ["limit", "offset"])
    def test_a_negative_list_number_is_malformed(self, api: Api, name: str) -> None:
        api.register("admin")
        admin = api.as_("admin")
        admin.post("/api/v1/admin/registration-invites", {"count": 3})
        response = admin.get(f"/api/v1/admin/registration-invites?{name}=-1")
        assert (response.status_code, response.json()) == (
            400,
            {"error": f"Failed to deserialize query string: {name}: must not be negative",
             "status": 400},
        )  # fmt: skip
        assert len(admin.get(f"/api/v1/admin/registration-invites?{name}=0").json()) == (
            0 if name == "limit" else 3
        )
        assert len(admin.get("/api/v1/admin/registration-invites?limit=999").json()) == 3

    def test_used_invite_cannot_be_revoked(self, api: Api) -> None:
        with haven_settings(registration_invite_only=True):
            api.register("admin")
            code = RegistrationInvite.objects.first()
            assert code is not None
            api.register("bob", invite_code=code.code)
        response = api.as_("admin").delete(f"/api/v1/admin/registration-invites/{code.id}")
        assert response.status_code == 404

    def test_non_admin_is_refused(self, api: Api) -> None:
        api.register("admin")
        api.register("bob")
        for method, path in [
            ("get", "/api/v1/admin/registration-invites"),
            ("post", "/api/v1/admin/registration-invites"),
            ("get", "/api/v1/admin/users"),
        ]:
            bob = api.as_("bob")
            response = bob.post(path, {}) if method == "post" else bob.get(path)
            assert response.status_code == 403
            assert response.json() == {"error": "Instance admin access required", "status": 403}


class TestIssueInvitesCommand:
    def test_prints_codes(self, api: Api) -> None:
        out = StringIO()
        call_command("issue_invites", "--count", "3", stdout=out, stderr=StringIO())
        codes = out.getvalue().split()
        assert len(codes) == 3
        assert RegistrationInvite.objects.filter(code__in=codes, created_by=None).count() == 3

    def test_for_user_with_expiry(self, api: Api) -> None:
        api.register("alice")
        out = StringIO()
        call_command(
            "issue_invites", "--count", "2", "--expires-in", "3", "--for", "ALICE", stdout=out,
            stderr=StringIO(),
        )  # fmt: skip
        invites = RegistrationInvite.objects.filter(code__in=out.getvalue().split())
        assert {i.created_by.username for i in invites if i.created_by} == {"alice"}
        assert all(i.expires_at is not None for i in invites)
        assert len(api.as_("alice").get("/api/v1/registration-invites").json()) == 2

    @pytest.mark.parametrize("args", [["--count", "0"], ["--for", "nobody"], ["--expires-in", "0"]])
    def test_bad_arguments(self, args: list[str]) -> None:
        with pytest.raises(CommandError):
            call_command("issue_invites", *args, stdout=StringIO())


def test_every_door_records_issued_and_revoked_codes(api: Api) -> None:
    """Invites issued or revoked by admins or operators are admin actions (docs/moderation.md);
    the codes users receive at registration are not."""
    from django.test import Client

    from accounts.models import InstanceAuditEntry

    with haven_settings(registration_invite_only=True):
        api.register("admin")
    assert not InstanceAuditEntry.objects.exists()
    admin = api.as_("admin")
    created = admin.post("/api/v1/admin/registration-invites", {"count": 2}).json()
    admin.delete(f"/api/v1/admin/registration-invites/{created[0]['id']}")
    call_command("issue_invites", "--count", "1", stdout=StringIO(), stderr=StringIO())
    browser = Client()
    browser.force_login(User.objects.get(username="admin"))
    added = browser.post(
        "/admin/invites/registrationinvite/add/", {"created_by": "", "expires_at_0": ""}
    )
    assert added.status_code == 302, added.content[:500]
    browser.post(
        "/admin/invites/registrationinvite/",
        {"action": "revoke_unused", "_selected_action": [created[1]["id"]]},
    )
    rows = [
        (e.action, e.via, e.target_label) for e in InstanceAuditEntry.objects.order_by("created_at")
    ]
    assert rows == [
        ("invites_issue", "api", "2 registration invite(s)"),
        ("invites_revoke", "api", created[0]["code"]),
        ("invites_issue", "command", "1 registration invite(s)"),
        ("invites_issue", "admin", "1 registration invite(s)"),
        ("invites_revoke", "admin", created[1]["code"]),
    ]
