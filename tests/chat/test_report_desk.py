"""The report desk (docs/moderation.md): a report filed through the API reaches the admin's
queue with what the reporter shared; each one-click decision does what it says, settles every
pending report of the message, tells each reporter (``ReportResolved``) and records itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import InstanceAuditEntry, User
from chat.models import (
    AuditLogEntry,
    Ban,
    Message,
    Report,
    ReportStatus,
    Server,
    ServerMember,
)
from tests.factories import (
    add_member,
    make_dm,
    make_server,
    post,
    published,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

REASON = "spam spam spam"
SHARED = "<script>alert(1)</script> buy cheap pills"


@dataclass
class Desk:
    api: Api
    admin: User
    owner: User
    author: User
    bob: User
    carol: User
    server: Server
    message: Message
    browser: Client

    def report(self, who: str, message: Message | None = None, **extra: Any) -> Any:
        target = message or self.message
        body = {
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
            "reason": REASON,
            **extra,
        }
        return self.api.as_(who).post("/api/v1/reports", body)

    def decide(self, report_id: object, **form: Any) -> Any:
        return self.browser.post(f"/admin/chat/report/{report_id}/decide/", form)


@pytest.fixture
def desk(api: Api) -> Desk:
    admin, owner, author, bob, carol = users(api, "admin", "owner", "author", "bob", "carol")
    fx = make_server(owner)
    Server.objects.filter(id=fx.server.id).update(encrypted_meta=b'{"name":"Design Guild"}')
    fx.channel.encrypted_meta = b'{"name":"general"}'
    fx.channel.save(update_fields=["encrypted_meta"])
    for user in (author, bob, carol):
        add_member(fx.server, user)
    browser = Client()
    browser.force_login(admin)
    fx.server.refresh_from_db()
    return Desk(api, admin, owner, author, bob, carol, fx.server, post(fx.channel, author), browser)


def entries() -> list[tuple[str, str, str]]:
    return [
        (e.action, e.actor_name, e.via) for e in InstanceAuditEntry.objects.order_by("created_at")
    ]


# --- filing ---------------------------------------------------------------------------------


def test_a_report_with_shared_content_reaches_the_queue(desk: Desk) -> None:
    filed = desk.report("bob", content=SHARED, attachment_names=["pills.png", "<b>x</b>.pdf"])
    assert filed.status_code == 200
    assert set(filed.json()) == {"id", "message_id", "reason", "status", "created_at"}  # spec
    stored = Report.objects.get()
    assert (stored.reporter_content, stored.reporter_attachment_names) == (
        SHARED,
        ["pills.png", "<b>x</b>.pdf"],
    )
    assert stored.reported_user_id == desk.author.id

    queue = desk.browser.get("/admin/chat/report/")
    assert queue.status_code == 302
    assert queue["Location"].endswith("?status__exact=pending")
    page = desk.browser.get(queue["Location"]).content.decode()
    for shown in ("bob", "author", "Design Guild", "general", REASON):
        assert shown in page, shown

    detail = desk.browser.get(f"/admin/chat/report/{stored.id}/change/").content.decode()
    assert "Supplied by the reporter" in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt; buy cheap pills" in detail
    assert "<script>alert(1)" not in detail
    assert "&lt;b&gt;x&lt;/b&gt;.pdf" in detail
    for form in ("decide-dismiss", "decide-delete", "decide-timeout", "decide-ban"):
        assert f'id="{form}"' in detail
    assert "Suspend author instance-wide" in detail
    assert (
        b'name="_save"' not in desk.browser.get(f"/admin/chat/report/{stored.id}/change/").content
    )


def test_the_reporters_copy_is_optional_and_bounded(desk: Desk) -> None:
    assert desk.report("bob", content=None, attachment_names=None).status_code == 200
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"content": "x" * 8193}, 400, "content must be at most 8192 characters"),
        ({"attachment_names": ["a"] * 51}, 400, "At most 50 attachment names"),
        (
            {"attachment_names": ["a" * 256]},
            400,
            "Attachment names must be at most 255 characters",
        ),
        ({"content": 5}, 422, None),
        ({"attachment_names": "a.png"}, 422, None),
        ({"attachment_names": [1]}, 422, None),
    ]
    for extra, status, error in cases:
        response = desk.report("carol", **extra)
        assert response.status_code == status, (extra, response)
        if error:
            assert response.json() == {"error": error, "status": status}
    assert desk.report("carol", content="x" * 8192, attachment_names=["a" * 255] * 50).json()[
        "status"
    ] == ("pending")
    assert Report.objects.count() == 2


def test_the_reporter_lists_their_reports(desk: Desk) -> None:
    mine = desk.report("bob", content="rude words").json()
    desk.report("carol")
    listed = desk.api.as_("bob").get("/api/v1/reports").json()
    assert listed == [
        {
            **mine,
            "channel_id": str(desk.message.channel_id),
            "content": "rude words",
            "attachment_names": None,
            "outcome": None,
            "resolved_at": None,
        }
    ]
    assert desk.api.as_("bob").get("/api/v1/reports?limit=0&offset=1").json() == []
    assert desk.api.get("/api/v1/reports", token="").status_code == 401


# --- deciding -------------------------------------------------------------------------------


def _effects(desk: Desk, kind: str) -> None:
    server, author = desk.server, desk.author
    member = ServerMember.objects.filter(server=server, user=author).first()
    if kind == "delete_message":
        assert not Message.objects.filter(id=desk.message.id).exists()
        assert AuditLogEntry.objects.filter(server=server, action="message_delete").exists()
    else:
        assert Message.objects.filter(id=desk.message.id).exists()
    if kind == "timeout_author":
        assert member is not None
        assert member.timed_out_until is not None
        assert AuditLogEntry.objects.filter(server=server, action="member_timeout").exists()
    if kind == "ban_author":
        assert member is None
        assert Ban.objects.filter(server=server, user=author, banned_by=desk.admin).exists()
    if kind == "suspend_author":
        author.refresh_from_db()
        assert (author.is_suspended, author.suspension_reason) == (True, "Repeated spam")
    if kind != "suspend_author":
        assert not User.objects.get(id=author.id).is_suspended


DECISIONS = [
    ("dismiss", {}, "dismissed", "dismissed", "report_dismiss", []),
    ("delete_message", {}, "resolved", "message_deleted", "message_delete", ["MessageDeleted"]),
    (
        "timeout_author",
        {"timeout_seconds": "3600"},
        "resolved",
        "author_timed_out",
        "member_timeout",
        ["MemberTimedOut"],
    ),
    ("ban_author", {}, "resolved", "author_banned", "member_ban", ["MemberBanned"]),
    (
        "suspend_author",
        {"reason": "Repeated spam", "days": "7"},
        "resolved",
        "author_suspended",
        "user_suspend",
        ["PresenceUpdate"],
    ),
]


@pytest.mark.parametrize(
    ("kind", "form", "status", "outcome", "action", "sanction_events"),
    DECISIONS,
    ids=[d[0] for d in DECISIONS],
)
def test_each_decision_does_what_it_says_and_records_itself(
    desk: Desk,
    kind: str,
    form: dict[str, str],
    status: str,
    outcome: str,
    action: str,
    sanction_events: list[str],
) -> None:
    first = desk.report("bob", content=SHARED).json()
    second = desk.report("carol").json()
    elsewhere = desk.report("carol", post(desk.message.channel, desk.author, b"other")).json()
    with published() as events:
        response = desk.decide(first["id"], kind=kind, **form)
    assert response.status_code == 302
    assert response["Location"] == "/admin/chat/report/"

    _effects(desk, kind)
    for report_id in (first["id"], second["id"]):
        report = Report.objects.get(id=report_id)
        assert (report.status, report.outcome, report.resolved_by_id) == (
            status,
            outcome,
            desk.admin.id,
        )
    assert Report.objects.get(id=elsewhere["id"]).status == ReportStatus.PENDING

    resolved = [e for e in events if e.type == "ReportResolved"]
    assert {(e.payload["report_id"], e.audience.users) for e in resolved} == {
        (first["id"], frozenset({desk.bob.id})),
        (second["id"], frozenset({desk.carol.id})),
    }
    assert resolved[0].payload == {
        "report_id": resolved[0].payload["report_id"],
        "message_id": str(desk.message.id),
        "channel_id": str(desk.message.channel_id),
        "status": status,
        "outcome": outcome,
        "resolved_at": resolved[0].payload["resolved_at"],
    }
    assert resolved[0].payload["resolved_at"].endswith("Z")
    for event_type in sanction_events:
        assert event_type in [e.type for e in events], event_type

    [entry] = InstanceAuditEntry.objects.all()
    assert (entry.action, entry.actor_id, entry.via) == (action, desk.admin.id, "admin")
    assert entry.details is not None
    assert sorted(entry.details["report_ids"]) == sorted([first["id"], second["id"]])
    assert entry.details["outcome"] == outcome

    mine = desk.api.as_("bob").get("/api/v1/reports").json()
    assert (mine[0]["status"], mine[0]["outcome"]) == (status, outcome)
    assert mine[0]["resolved_at"].endswith("Z")


def test_refused_decisions_change_nothing(desk: Desk, api: Api) -> None:
    on_owner = desk.report("bob", post(desk.message.channel, desk.owner, b"owner says")).json()
    dm = make_dm(desk.bob, desk.author)
    in_dm = desk.report("bob", post(dm, desk.author, b"dm")).json()
    plain = desk.report("carol").json()
    cases: list[tuple[str, dict[str, Any], str]] = [
        (on_owner["id"], {"kind": "ban_author"}, "Cannot ban the server owner"),
        (on_owner["id"], {"kind": "timeout_author", "timeout_seconds": 3600}, "Cannot timeout"),
        (in_dm["id"], {"kind": "ban_author"}, "This report is not about a server channel"),
        (plain["id"], {"kind": "suspend_author"}, "A reason is required"),
        (plain["id"], {"kind": "timeout_author"}, "A timeout lasts 1 to 2419200 seconds"),
        (plain["id"], {"kind": "shout"}, "Nothing done"),
    ]
    for report_id, form, error in cases:
        response = desk.decide(report_id, **form)
        assert response.status_code == 302
        shown = desk.browser.get(response["Location"]).content.decode()
        assert error in shown, (form, error)
    assert set(Report.objects.values_list("status", flat=True)) == {"pending"}
    assert not InstanceAuditEntry.objects.exists()
    assert not Ban.objects.exists()

    # The DM's message can be deleted (and its author suspended); no ban form is offered there.
    detail = desk.browser.get(f"/admin/chat/report/{in_dm['id']}/change/").content.decode()
    assert 'id="decide-ban"' not in detail
    assert 'id="decide-delete"' in detail
    assert desk.decide(in_dm["id"], kind="delete_message").status_code == 302
    assert Report.objects.get(id=in_dm["id"]).outcome == "message_deleted"

    # The message is gone: deleting it again fails; the author can still be acted on.
    assert desk.decide(in_dm["id"], kind="delete_message").status_code == 302
    assert InstanceAuditEntry.objects.count() == 1


def test_a_deleted_author_cannot_be_sanctioned(desk: Desk) -> None:
    filed = desk.report("bob").json()
    User.objects.filter(id=desk.author.id).delete()
    response = desk.decide(filed["id"], kind="suspend_author", reason="x")
    page = desk.browser.get(response["Location"]).content.decode()
    assert "The author&#x27;s account no longer exists" in page
    assert Report.objects.get(id=filed["id"]).status == "pending"


def test_the_api_review_notifies_and_records(desk: Desk) -> None:
    filed = desk.report("bob").json()
    with published() as events:
        reviewed = desk.api.as_("admin").put(
            f"/api/v1/admin/reports/{filed['id']}", {"status": "dismissed"}
        )
    assert reviewed.status_code == 200
    data = reviewed.json()
    assert (data["status"], data["outcome"], data["server_id"]) == (
        "dismissed",
        "dismissed",
        str(desk.server.id),
    )
    assert [e.type for e in events] == ["ReportResolved"]
    assert entries() == [("report_dismiss", "admin", "api")]


def test_list_actions_decide_through_the_desk(desk: Desk) -> None:
    filed = [desk.report(name).json()["id"] for name in ("bob", "carol")]
    with published() as events:
        response = desk.browser.post(
            "/admin/chat/report/?status__exact=pending",
            {"action": "mark_dismissed", "_selected_action": filed},
        )
    assert response.status_code == 302
    assert set(Report.objects.values_list("status", flat=True)) == {"dismissed"}
    assert len([e for e in events if e.type == "ReportResolved"]) == 2
    assert [e[0] for e in entries()] == ["report_dismiss"]  # the second was settled with the first
    # Reports are a record: they cannot be edited or deleted here.
    report_id = uuid.UUID(filed[0])
    assert desk.browser.post(f"/admin/chat/report/{report_id}/delete/").status_code == 403
