"""Periodic housekeeping: each task removes exactly what is past its time, once per interval."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import DeviceSession, RefreshToken
from chat.actions.message_store import insert_message
from chat.models import AuditLogEntry, Channel, Message, Report, Server, ServerMember
from invites.models import ServerInvite
from ops.maintenance import run_due
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.django_db


def test_everything_past_its_time_goes_and_the_rest_stays(api: Api) -> None:
    alice = api.register("alice")
    api.register("bob")
    server = Server.objects.create(owner_id=alice.id)
    ServerMember.objects.create(server=server, user_id=alice.id)
    channel = Channel.objects.create(server=server)
    now = timezone.now()
    expired = insert_message(channel, sender_id=alice.id, expires_at=now - timedelta(seconds=1))
    kept = insert_message(channel, sender_id=alice.id, expires_at=now + timedelta(hours=1))
    Report.objects.create(
        reporter_id=alice.id, message_id=expired.id, channel_id=channel.id, reason="x" * 10
    )
    ServerInvite.objects.create(server=server, code="OLDCODE1", expires_at=now - timedelta(hours=1))
    ServerInvite.objects.create(server=server, code="NEWCODE1", expires_at=now + timedelta(hours=1))
    old = AuditLogEntry.objects.create(server=server, actor_id=alice.id, action="role_create")
    AuditLogEntry.objects.filter(id=old.id).update(created_at=now - timedelta(days=91))
    AuditLogEntry.objects.create(server=server, actor_id=alice.id, action="role_update")
    stale = DeviceSession.objects.get(user_id=alice.id)
    RefreshToken.objects.filter(session=stale).update(expires_at=now - timedelta(days=1))

    with haven_settings(audit_log_retention_days=90):
        done = run_due()

    assert done["expired-messages"] == 1
    assert list(Message.objects.values_list("id", flat=True)) == [kept.id]
    assert Report.objects.get().status == "pending"  # for an instance admin still
    assert list(ServerInvite.objects.values_list("code", flat=True)) == ["NEWCODE1"]
    assert list(AuditLogEntry.objects.values_list("action", flat=True)) == ["role_update"]
    assert not DeviceSession.objects.filter(id=stale.id).exists()
    assert DeviceSession.objects.filter(user_id=api.users["bob"].id).exists()
    assert run_due() == {}  # each task runs once per interval


def test_command_runs_once(api: Api) -> None:
    out = StringIO()
    call_command("maintenance", stdout=out)
    assert "expired-messages: 0 removed" in out.getvalue()
