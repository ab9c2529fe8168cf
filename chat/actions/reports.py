"""Message reports (api.md 2.24) and their review by instance admins (an addition: the original
stored reports that nobody could read without database access).

A report carries routing metadata only (message id, channel id, reason). The message content
stays end-to-end encrypted; the reporter's client is expected to include what the admin needs in
the reason.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from chat.access import access_channel
from chat.actions.messages import MESSAGE_NOT_FOUND, live_messages
from chat.models import Channel, Report, ReportStatus
from haven_site.api.errors import BadRequest, NotFound

MIN_REASON_BYTES = 10
REPORTS_PER_HOUR = 5
STATUS_FILTER = "status must be 'pending', 'resolved' or 'dismissed'"
STATUS_DECISION = "status must be 'resolved' or 'dismissed'"


def do_report(user: User, message_id: uuid.UUID, channel_id: uuid.UUID, reason: str) -> Report:
    """Checks in the original's order, plus one it lacked: the message must exist (and be live)
    in that channel. The hourly limit holds under concurrency (the reporter's row is locked)."""
    access_channel(user.id, channel_id)  # 403 "Not a member of this channel"
    if not live_messages().filter(id=message_id, channel_id=channel_id).exists():
        raise NotFound(MESSAGE_NOT_FOUND)
    if len(reason.encode()) < MIN_REASON_BYTES:
        raise BadRequest(f"Reason must be at least {MIN_REASON_BYTES} characters")
    with transaction.atomic():
        User.objects.select_for_update().filter(id=user.id).values_list("id").first()
        since = timezone.now() - timedelta(hours=1)
        if Report.objects.filter(reporter=user, created_at__gt=since).count() >= REPORTS_PER_HOUR:
            raise BadRequest(f"You can only submit {REPORTS_PER_HOUR} reports per hour")
        return Report.objects.create(
            reporter=user, message_id=message_id, channel_id=channel_id, reason=reason
        )


def reports_for_review(
    status: str | None, limit: int, offset: int
) -> list[tuple[Report, uuid.UUID | None]]:
    """Reports newest first, with the server of each report's channel (None for DMs or a
    channel deleted since). Two queries whatever the page size."""
    if status is not None and status not in ReportStatus.values:
        raise BadRequest(STATUS_FILTER)
    reports: QuerySet[Report] = Report.objects.select_related("reporter").order_by(
        "-created_at", "-id"
    )
    if status is not None:
        reports = reports.filter(status=status)
    page = list(reports[offset : offset + limit])
    servers = dict(
        Channel.objects.filter(id__in={r.channel_id for r in page}).values_list("id", "server_id")
    )
    return [(report, servers.get(report.channel_id)) for report in page]


def do_review(admin: User, report_id: uuid.UUID, status: str) -> tuple[Report, uuid.UUID | None]:
    if status not in (ReportStatus.RESOLVED, ReportStatus.DISMISSED):
        raise BadRequest(STATUS_DECISION)
    with transaction.atomic():
        report = (
            Report.objects.select_for_update()
            .select_related("reporter")
            .filter(id=report_id)
            .first()
        )
        if report is None:
            raise NotFound("Report not found")
        report.status = status
        report.resolved_by = admin
        report.resolved_at = timezone.now()
        report.save(update_fields=["status", "resolved_by", "resolved_at"])
    server_id = Channel.objects.filter(id=report.channel_id).values_list("server_id", flat=True)
    return report, server_id.first()
