"""The numbers on the Django admin's front page (docs/moderation.md): what ``GET /admin/stats``
reports (api.md 2.26), plus what a moderator checks first: open reports, suspended accounts and
messages per day over the last week."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import InstanceAuditEntry, User, not_suspended
from chat.actions.stats import instance_stats
from chat.models import Message, Report, ReportStatus

DAYS = 7


def messages_per_day(today: date | None = None, days: int = DAYS) -> list[tuple[date, int]]:
    """Messages sent on each of the last ``days`` UTC days, oldest first, today included."""
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    counts = dict(
        Message.objects.filter(timestamp__gte=start)
        .annotate(day=TruncDate("timestamp", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        (first + timedelta(days=i), counts.get(first + timedelta(days=i), 0)) for i in range(days)
    ]


def dashboard_stats() -> dict[str, Any]:
    per_day = messages_per_day()
    return {
        **instance_stats(),
        "open_reports": Report.objects.filter(status=ReportStatus.PENDING).count(),
        "suspended_users": User.objects.exclude(not_suspended()).count(),
        "messages_per_day": per_day,
        "busiest_day": max((n for _, n in per_day), default=0),
    }


def recent_admin_actions(limit: int = 10) -> list[InstanceAuditEntry]:
    return list(InstanceAuditEntry.objects.order_by("-created_at")[:limit])
