"""Reports (api.md 2.24) and their review by instance admins (an addition)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chat.models import Report, ReportStatus
from tests.factories import (
    add_channel,
    make_dm,
    make_server,
    post,
    users,
)
from tests.helpers import Api, Response

pytestmark = pytest.mark.django_db

REASON = "spam spam spam"


def report(api: Api, who: str, message: object, channel: object, reason: str = REASON) -> Response:
    return api.as_(who).post(
        "/api/v1/reports",
        {"message_id": str(message), "channel_id": str(channel), "reason": reason},
    )


def test_report_a_message(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    message = post(dm, alice)
    response = report(api, "bob", message.id, dm.id)
    data = response.json()
    assert response.status_code == 200
    assert data == {
        "id": data["id"],
        "message_id": str(message.id),
        "reason": REASON,
        "status": "pending",
        "created_at": data["created_at"],
    }
    stored = Report.objects.get()
    assert (stored.reporter_id, stored.channel_id) == (bob.id, dm.id)


def test_report_errors_in_order(api: Api) -> None:
    alice, _ = users(api, "alice", "mallory")
    fx = make_server(alice)
    other = add_channel(fx.server)
    message = post(fx.channel, alice)
    elsewhere = post(other, alice)
    expired = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    cases = [
        (
            report(api, "mallory", message.id, fx.channel.id, "short"),
            403,
            "Not a member of this channel",
        ),
        (report(api, "alice", uuid.uuid4(), fx.channel.id), 404, "Message not found"),
        (report(api, "alice", elsewhere.id, fx.channel.id), 404, "Message not found"),
        (report(api, "alice", expired.id, fx.channel.id), 404, "Message not found"),
        (
            report(api, "alice", message.id, fx.channel.id, "é" * 4),
            400,
            "Reason must be at least 10 characters",
        ),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    assert report(api, "alice", message.id, fx.channel.id, "é" * 5).status_code == 200  # bytes


def test_five_reports_per_hour(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    old = Report.objects.create(
        reporter=alice, message_id=message.id, channel_id=fx.channel.id, reason=REASON
    )
    Report.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(hours=2))
    for _ in range(5):
        assert report(api, "alice", message.id, fx.channel.id).status_code == 200
    assert report(api, "alice", message.id, fx.channel.id).json() == {
        "error": "You can only submit 5 reports per hour",
        "status": 400,
    }


# --- Admin review -------------------------------------------------------------------------------


def test_admin_lists_and_reviews_reports(api: Api) -> None:
    admin, bob = users(api, "admin", "bob")  # the first user is the instance admin
    assert admin.is_instance_admin
    fx = make_server(admin)
    dm = make_dm(admin, bob)
    first = report(api, "admin", post(fx.channel, admin).id, fx.channel.id).json()
    second = report(api, "bob", post(dm, admin).id, dm.id).json()
    listed = api.as_("admin").get("/api/v1/admin/reports").json()
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert listed[0] == {
        **second,
        "channel_id": str(dm.id),
        "server_id": None,
        "reporter_id": str(bob.id),
        "reporter_username": "bob",
        "resolved_by": None,
        "resolved_at": None,
        "reported_user_id": str(admin.id),
        "reported_username": "admin",
        "content": None,
        "attachment_names": None,
        "outcome": None,
    }
    assert listed[1]["server_id"] == str(fx.server.id)
    reviewed = api.as_("admin").put(f"/api/v1/admin/reports/{first['id']}", {"status": "resolved"})
    assert reviewed.json()["status"] == "resolved"
    assert reviewed.json()["resolved_by"] == str(admin.id)
    assert reviewed.json()["resolved_at"].endswith("Z")
    pending = api.as_("admin").get("/api/v1/admin/reports?status=pending").json()
    assert [r["id"] for r in pending] == [second["id"]]
    page = api.as_("admin").get("/api/v1/admin/reports?limit=1&offset=1").json()
    assert [r["id"] for r in page] == [first["id"]]
    dismissed = api.as_("admin").put(
        f"/api/v1/admin/reports/{second['id']}", {"status": "dismissed"}
    )
    assert Report.objects.get(id=second["id"]).status == ReportStatus.DISMISSED
    assert dismissed.status_code == 200


def test_admin_report_errors(api: Api) -> None:
    users(api, "admin", "bob")
    as_admin = api.as_("admin")
    assert as_admin.get("/api/v1/admin/reports?status=open").json() == {
        "error": "status must be 'pending', 'resolved' or 'dismissed'",
        "status": 400,
    }
    assert as_admin.put(f"/api/v1/admin/reports/{uuid.uuid4()}", {"status": "resolved"}).json() == {
        "error": "Report not found",
        "status": 404,
    }
    assert as_admin.put(f"/api/v1/admin/reports/{uuid.uuid4()}", {"status": "pending"}).json() == {
        "error": "status must be 'resolved' or 'dismissed'",
        "status": 400,
    }
    for response in (
        api.as_("bob").get("/api/v1/admin/reports"),
        api.as_("bob").put(f"/api/v1/admin/reports/{uuid.uuid4()}", {"status": "resolved"}),
    ):
        assert response.json() == {"error": "Instance admin access required", "status": 403}
    assert api.get("/api/v1/admin/reports").status_code == 401


def test_django_admin_report_page(api: Api) -> None:
    admin, bob = users(api, "admin", "bob")
    dm = make_dm(admin, bob)
    report(api, "bob", post(dm, admin).id, dm.id)
    client = Client()
    client.force_login(User.objects.get(id=admin.id))
    assert client.get("/admin/chat/report/")["Location"].endswith("?status__exact=pending")
    page = client.get("/admin/chat/report/?status__exact=pending")
    assert page.status_code == 200
    assert REASON in page.content.decode()
    stored = Report.objects.get()
    response = client.post(
        "/admin/chat/report/",
        {"action": "mark_dismissed", "_selected_action": [str(stored.id)]},
    )
    assert response.status_code == 302
    stored.refresh_from_db()
    assert (stored.status, stored.resolved_by_id) == (ReportStatus.DISMISSED, admin.id)
