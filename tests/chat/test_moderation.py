"""Bans (api.md 2.15), nicknames (2.16), timeouts (2.17) and the audit log (2.18)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from chat.access import check_not_timed_out, is_timed_out
from chat.actions.audit import record_audit
from chat.models import AuditLogEntry, Ban, ChannelMember, Message, ServerMember
from chat.permissions import Permission
from haven_site.api.errors import Forbidden
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api

pytestmark = pytest.mark.django_db

BAN = int(Permission.BAN_MEMBERS)
MODERATE = int(Permission.MODERATE_MEMBERS)
MANAGE_SERVER = int(Permission.MANAGE_SERVER)
AUDIT = int(Permission.VIEW_AUDIT_LOG)


@pytest.fixture
def sid(api: Api) -> str:
    """alice owns the server; bob and dave are members; carol is not."""
    for name in ("alice", "bob", "carol", "dave"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob", "dave")
    return str(server["id"])


def uid(api: Api, name: str) -> str:
    return api.users[name].id


# --- Bans ----------------------------------------------------------------------------------------


def test_ban_removes_member_and_blocks_rejoin(api: Api, sid: str) -> None:
    bob = uid(api, "bob")
    User.objects.filter(id=bob).update(display_name="Bobby")
    response = api.as_("alice").post(f"{P}/servers/{sid}/bans/{bob}", {"reason": "spam"})
    assert response.status_code == 200
    ban = response.json()
    assert set(ban) == {"id", "user_id", "username", "reason", "banned_by", "created_at"}
    assert (ban["user_id"], ban["username"], ban["reason"], ban["banned_by"]) == (
        bob,
        "bob",
        "spam",
        uid(api, "alice"),
    )
    assert ban["created_at"].endswith("+00:00")
    assert not ServerMember.objects.filter(server_id=sid, user_id=bob).exists()
    assert not ChannelMember.objects.filter(channel__server_id=sid, user_id=bob).exists()
    message = Message.objects.filter(channel__server_id=sid).latest("timestamp")
    assert json.loads(bytes(message.encrypted_body)) == {
        "event": "member_banned",
        "user_id": bob,
        "username": "Bobby",
    }
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_id"], entry["changes"], entry["reason"]) == (
        "member_ban",
        bob,
        {"username": "Bobby"},
        "spam",
    )
    code = api.as_("alice").post(f"{P}/servers/{sid}/invites", {}).json()["code"]
    rejoin = api.as_("bob").post(f"{P}/invites/{code}/join")
    assert (rejoin.status_code, rejoin.json()["error"]) == (403, "You are banned from this server")


def test_ban_of_a_non_member_posts_no_message(api: Api, sid: str) -> None:
    before = Message.objects.count()
    response = api.as_("alice").post(f"{P}/servers/{sid}/bans/{uid(api, 'carol')}", {})
    assert response.status_code == 200
    assert response.json()["reason"] is None
    assert Message.objects.count() == before


def test_ban_errors(api: Api, sid: str) -> None:
    bob, alice = uid(api, "bob"), uid(api, "alice")
    path = f"{P}/servers/{sid}/bans"
    denied = api.as_("bob").post(f"{path}/{uid(api, 'dave')}", {})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    outsider = api.as_("carol").post(f"{path}/{bob}", {})
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = api.as_("alice").post(f"{P}/servers/{uuid.uuid4()}/bans/{bob}", {})
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    self_ban = api.as_("alice").post(f"{path}/{alice}", {})
    assert (self_ban.status_code, self_ban.json()["error"]) == (400, "Cannot ban yourself")
    unknown = api.as_("alice").post(f"{path}/{uuid.uuid4()}", {})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "User not found")
    assert api.as_("alice").post(f"{path}/{bob}", {}).status_code == 200
    duplicate = api.as_("alice").post(f"{path}/{bob}", {})
    assert (duplicate.status_code, duplicate.json()["error"]) == (
        409,
        "User is already banned from this server",
    )
    no_body = api.as_("alice").post(f"{path}/{bob}", content_type=None)
    assert no_body.status_code == 415  # a JSON body is required
    assert api.as_("alice").post(f"{path}/{bob}", {"reason": 3}).status_code == 422
    assert api.as_("alice").post(f"{path}/zzz", {}).status_code == 400


def test_ban_hierarchy_and_owner(api: Api, sid: str) -> None:
    grant(api, "alice", sid, "bob", BAN, position=3)
    owner = api.as_("bob").post(f"{P}/servers/{sid}/bans/{uid(api, 'alice')}", {})
    assert (owner.status_code, owner.json()["error"]) == (403, "Cannot ban the server owner")
    grant(api, "alice", sid, "dave", 0, position=3)
    equal = api.as_("bob").post(f"{P}/servers/{sid}/bans/{uid(api, 'dave')}", {})
    assert (equal.status_code, equal.json()["error"]) == (
        403,
        "Cannot ban a member with equal or higher role",
    )
    assert not Ban.objects.exists()
    assert api.as_("bob").post(f"{P}/servers/{sid}/bans/{uid(api, 'carol')}", {}).status_code == 200


def test_unban_and_list(api: Api, sid: str) -> None:
    for name in ("bob", "carol"):
        api.as_("alice").post(f"{P}/servers/{sid}/bans/{uid(api, name)}", {"reason": name})
    bans = api.as_("alice").get(f"{P}/servers/{sid}/bans").json()
    assert [b["username"] for b in bans] == ["carol", "bob"]  # newest first
    assert [
        b["username"]
        for b in api.as_("alice").get(f"{P}/servers/{sid}/bans?limit=1&offset=1").json()
    ] == ["bob"]
    response = api.as_("alice").delete(f"{P}/servers/{sid}/bans/{uid(api, 'bob')}")
    assert (response.status_code, response.json()) == (200, {"unbanned": True})
    assert api.as_("alice").delete(f"{P}/servers/{sid}/bans/{uid(api, 'bob')}").status_code == 200
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_type"], entry["changes"]) == (
        "member_unban",
        "member",
        None,
    )
    assert [b["username"] for b in api.as_("alice").get(f"{P}/servers/{sid}/bans").json()] == [
        "carol"
    ]
    assert api.as_("dave").get(f"{P}/servers/{sid}/bans").status_code == 403
    assert api.as_("dave").delete(f"{P}/servers/{sid}/bans/{uid(api, 'carol')}").status_code == 403
    assert api.as_("alice").get(f"{P}/servers/{uuid.uuid4()}/bans").status_code == 404


# --- Nicknames -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nickname", "ok"),
    [("Bo", True), ("x" * 32, True), ("é" * 16, True), ("é" * 17, False), ("x" * 33, False),
     ("   ", False), ("", False), (None, True)],
)  # fmt: skip
def test_own_nickname_rule(api: Api, sid: str, nickname: str | None, ok: bool) -> None:
    response = api.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": nickname})
    if ok:
        assert (response.status_code, response.json()) == (200, {"ok": True})
        assert ServerMember.objects.get(server_id=sid, user_id=uid(api, "bob")).nickname == nickname
    else:
        assert (response.status_code, response.json()["error"]) == (
            400,
            "Nickname must be 1-32 characters",
        )


def test_own_nickname_clear_and_membership(api: Api, sid: str) -> None:
    api.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": "B"})
    assert api.as_("bob").put(f"{P}/servers/{sid}/nickname", {}).status_code == 200
    assert ServerMember.objects.get(server_id=sid, user_id=uid(api, "bob")).nickname is None
    outsider = api.as_("carol").put(f"{P}/servers/{sid}/nickname", {"nickname": "C"})
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    assert api.as_("bob").put(f"{P}/servers/{sid}/nickname", {"nickname": 5}).status_code == 422
    assert api.as_("bob").put(f"{P}/servers/{sid}/nickname", content_type=None).status_code == 415


def test_member_nickname(api: Api, sid: str) -> None:
    bob = uid(api, "bob")
    path = f"{P}/servers/{sid}/members/{bob}/nickname"
    response = api.as_("alice").put(path, {"nickname": "Mod-set"})
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert ServerMember.objects.get(server_id=sid, user_id=bob).nickname == "Mod-set"
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["target_id"], entry["changes"]) == (
        "member_nickname_update",
        bob,
        {"nickname": "Mod-set"},
    )
    denied = api.as_("dave").put(path, {"nickname": "x"})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing MANAGE_SERVER permission")
    missing = api.as_("alice").put(f"{P}/servers/{uuid.uuid4()}/members/{bob}/nickname", {})
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    not_member = api.as_("alice").put(f"{P}/servers/{sid}/members/{uid(api, 'carol')}/nickname", {})
    assert (not_member.status_code, not_member.json()["error"]) == (404, "Member not found")
    bad = api.as_("alice").put(path, {"nickname": " "})
    assert bad.status_code == 400
    grant(api, "alice", sid, "dave", MANAGE_SERVER)
    assert api.as_("dave").put(path, {}).status_code == 200
    assert ServerMember.objects.get(server_id=sid, user_id=bob).nickname is None


# --- Timeouts ------------------------------------------------------------------------------------


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_timeout_sets_clamps_and_lifts(api: Api, sid: str) -> None:
    bob = uid(api, "bob")
    path = f"{P}/servers/{sid}/members/{bob}/timeout"
    response = api.as_("alice").put(path, {"duration_seconds": 600, "reason": "calm down"})
    assert response.status_code == 200
    until = parse(response.json()["timed_out_until"])
    assert timedelta(seconds=590) < until - timezone.now() <= timedelta(seconds=600)
    assert is_timed_out(uuid.UUID(bob), uuid.UUID(sid))
    with pytest.raises(Forbidden, match="You are timed out in this server"):
        check_not_timed_out(uuid.UUID(bob), uuid.UUID(sid))
    check_not_timed_out(uuid.UUID(bob), None)  # DMs are never affected
    entry = api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]
    assert (entry["action"], entry["changes"], entry["reason"]) == (
        "member_timeout",
        {"duration_seconds": 600},
        "calm down",
    )
    huge = api.as_("alice").put(path, {"duration_seconds": 2**62})
    until = parse(huge.json()["timed_out_until"])
    assert timedelta(days=27, hours=23) < until - timezone.now() <= timedelta(days=28)
    assert api.as_("alice").get(f"{P}/servers/{sid}/audit-log").json()[0]["changes"] == {
        "duration_seconds": 2**62
    }
    lifted = api.as_("alice").put(path, {"duration_seconds": 0})
    assert (lifted.status_code, lifted.json()) == (200, {"timed_out_until": None})
    assert not is_timed_out(uuid.UUID(bob), uuid.UUID(sid))
    check_not_timed_out(uuid.UUID(bob), uuid.UUID(sid))
    assert api.as_("alice").put(path, {"duration_seconds": -5}).json() == {"timed_out_until": None}


def test_timeout_errors(api: Api, sid: str) -> None:
    bob, alice = uid(api, "bob"), uid(api, "alice")
    body = {"duration_seconds": 60}
    denied = api.as_("dave").put(f"{P}/servers/{sid}/members/{bob}/timeout", body)
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    missing = api.as_("alice").put(f"{P}/servers/{uuid.uuid4()}/members/{bob}/timeout", body)
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    outsider = api.as_("carol").put(f"{P}/servers/{sid}/members/{bob}/timeout", body)
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    grant(api, "alice", sid, "bob", MODERATE, position=3)
    self_timeout = api.as_("bob").put(f"{P}/servers/{sid}/members/{bob}/timeout", body)
    assert (self_timeout.status_code, self_timeout.json()["error"]) == (
        400,
        "Cannot timeout yourself",
    )
    not_member = api.as_("bob").put(f"{P}/servers/{sid}/members/{uid(api, 'carol')}/timeout", body)
    assert (not_member.status_code, not_member.json()["error"]) == (404, "Member not found")
    owner = api.as_("bob").put(f"{P}/servers/{sid}/members/{alice}/timeout", body)
    assert (owner.status_code, owner.json()["error"]) == (403, "Cannot timeout the server owner")
    grant(api, "alice", sid, "dave", 0, position=3)
    equal = api.as_("bob").put(f"{P}/servers/{sid}/members/{uid(api, 'dave')}/timeout", body)
    assert (equal.status_code, equal.json()["error"]) == (
        403,
        "Cannot timeout a member with equal or higher role",
    )
    for bad in ({}, {"duration_seconds": "60"}, {"duration_seconds": 2**63}):
        response = api.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/timeout", bad)
        assert response.status_code == 422


# --- Audit log -----------------------------------------------------------------------------------


def test_audit_log_paging(api: Api, sid: str) -> None:
    alice = User.objects.get(id=uid(api, "alice"))
    base = timezone.now()
    for i in range(5):
        entry = record_audit(uuid.UUID(sid), alice.id, f"a{i}", reason=str(i))
        assert entry is not None
        AuditLogEntry.objects.filter(id=entry.id).update(created_at=base + timedelta(seconds=i))
    log = api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=2").json()
    assert [e["action"] for e in log] == ["a4", "a3"]
    assert set(log[0]) == {
        "id", "actor_id", "actor_username", "action", "target_type", "target_id", "changes",
        "reason", "created_at",
    }  # fmt: skip
    assert (log[0]["actor_username"], log[0]["target_type"], log[0]["target_id"]) == (
        "alice",
        None,
        None,
    )
    before = log[-1]["created_at"].replace("+", "%2B")
    older = api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=2&before={before}").json()
    assert [e["action"] for e in older] == ["a2", "a1"]
    assert len(api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=0").json()) == 1
    assert len(api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=-4").json()) == 1
    assert len(api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=1000").json()) == 5
    assert api.as_("alice").get(f"{P}/servers/{sid}/audit-log?before=yesterday").status_code == 400
    assert api.as_("alice").get(f"{P}/servers/{sid}/audit-log?limit=x").status_code == 400


def test_audit_log_permission(api: Api, sid: str) -> None:
    denied = api.as_("bob").get(f"{P}/servers/{sid}/audit-log")
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    assert api.as_("carol").get(f"{P}/servers/{sid}/audit-log").status_code == 403
    missing = api.as_("alice").get(f"{P}/servers/{uuid.uuid4()}/audit-log")
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    grant(api, "alice", sid, "bob", AUDIT)
    assert api.as_("bob").get(f"{P}/servers/{sid}/audit-log").status_code == 200


def test_record_audit_is_best_effort(api: Api, sid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed audit write is logged, not raised, and leaves the caller's transaction usable."""
    from django.db import DatabaseError, transaction

    def broken(**fields: object) -> None:
        raise DatabaseError("disk full")

    bob = uid(api, "bob")
    with monkeypatch.context() as patch:
        patch.setattr(AuditLogEntry.objects, "create", broken)
        with transaction.atomic():
            assert record_audit(uuid.UUID(sid), uuid.UUID(bob), "x") is None
        response = api.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/nickname", {})
        assert response.status_code == 200
    assert record_audit(uuid.UUID(sid), uuid.UUID(bob), "y") is not None
