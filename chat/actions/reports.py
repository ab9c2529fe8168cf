"""Message reports (api.md 2.24): filing, the reporter's own list, the admins' queue, and the
``ReportResolved`` event (additions to the spec, where reports could be read only in the
database). Decisions on reports live in ``chat.actions.report_decisions``.

A report carries routing metadata (message id, channel id, reason) and the message's sender,
which the server knows. The message itself stays end-to-end encrypted: the reporter's client
may add what it decrypted (``content``, ``attachment_names``), stored exactly as given and shown
to admins as the reporter's word, which the server cannot check (docs/moderation.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from chat.access import access_channel
from chat.actions.message_store import live_messages
from chat.actions.messages import MESSAGE_NOT_FOUND
from chat.models import Channel, Report, ReportStatus
from chat.shapes.reports import report_resolved_payload
from haven_site.api.errors import BadRequest, NotFound
from realtime.events import publish, to_users

MIN_REASON_BYTES = 10
REPORTS_PER_HOUR = 5
MAX_CONTENT = 8192  # characters: more than any message a client can send over the socket
MAX_ATTACHMENT_NAMES = 50
MAX_ATTACHMENT_NAME = 255
STATUS_FILTER = "status must be 'pending', 'resolved' or 'dismissed'"
STATUS_DECISION = "status must be 'resolved' or 'dismissed'"
REPORT_NOT_FOUND = "Report not found"


def check_reporter_content(content: str | None, attachment_names: Sequence[str] | None) -> None:
    """The optional decrypted copy: bounded, and nothing else is checked (it cannot be)."""
    if content is not None and len(content) > MAX_CONTENT:
        raise BadRequest(f"content must be at most {MAX_CONTENT} characters")
    if attachment_names is not None:
        if len(attachment_names) > MAX_ATTACHMENT_NAMES:
            raise BadRequest(f"At most {MAX_ATTACHMENT_NAMES} attachment names")
        if any(len(name) > MAX_ATTACHMENT_NAME for name in attachment_names):
            raise BadRequest(f"Attachment names must be at most {MAX_ATTACHMENT_NAME} characters")


def do_report(
    user: User,
    message_id: uuid.UUID,
    channel_id: uuid.UUID,
    reason: str,
    *,
    content: str | None = None,
    attachment_names: Sequence[str] | None = None,
) -> Report:
    """Checks in the spec's order, plus one: the message must exist (and be live) in that
    channel; then the bounds of the reporter's copy. The hourly limit holds under concurrency
    (the reporter's row is locked)."""
    access_channel(user.id, channel_id)  # 403 "Not a member of this channel"
    message = live_messages().filter(id=message_id, channel_id=channel_id).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if len(reason.encode()) < MIN_REASON_BYTES:
        raise BadRequest(f"Reason must be at least {MIN_REASON_BYTES} characters")
    check_reporter_content(content, attachment_names)
    with transaction.atomic():
        User.objects.select_for_update().filter(id=user.id).values_list("id").first()
        since = timezone.now() - timedelta(hours=1)
        if Report.objects.filter(reporter=user, created_at__gt=since).count() >= REPORTS_PER_HOUR:
            raise BadRequest(f"You can only submit {REPORTS_PER_HOUR} reports per hour")
        return Report.objects.create(
            reporter=user,
            message_id=message_id,
            channel_id=channel_id,
            reason=reason,
            reported_user_id=message.sender_id,
            reporter_content=content,
            reporter_attachment_names=list(attachment_names) if attachment_names else None,
        )


def reports_of(user: User, limit: int, offset: int) -> list[Report]:
    """The reports ``user`` filed, newest first (GET /reports, an addition)."""
    reports = Report.objects.filter(reporter=user).order_by("-created_at", "-id")
    return list(reports[offset : offset + limit])


def reports_for_review(
    status: str | None, limit: int, offset: int
) -> list[tuple[Report, uuid.UUID | None]]:
    """Reports newest first, with the server of each report's channel (None for DMs or a
    channel deleted since). Two queries whatever the page size."""
    if status is not None and status not in ReportStatus.values:
        raise BadRequest(STATUS_FILTER)
    reports: QuerySet[Report] = Report.objects.select_related("reporter", "reported_user").order_by(
        "-created_at", "-id"
    )
    if status is not None:
        reports = reports.filter(status=status)
    page = list(reports[offset : offset + limit])
    servers = dict(
        Channel.objects.filter(id__in={r.channel_id for r in page}).values_list("id", "server_id")
    )
    return [(report, servers.get(report.channel_id)) for report in page]


def server_of(report: Report) -> uuid.UUID | None:
    found = Channel.objects.filter(id=report.channel_id).values_list("server_id", flat=True)
    return found.first()


def notify_report_resolved(report: Report) -> None:
    """``ReportResolved`` to every connection of the reporter (docs/realtime.md)."""
    publish("ReportResolved", report_resolved_payload(report), to_users(report.reporter_id))
