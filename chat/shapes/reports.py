"""Shapes of message reports (api.md 1.9 ReportResponse) and of their review by admins."""

from __future__ import annotations

import uuid
from typing import Any

from chat.models import Report
from haven_site.api.encoding import ts


def report_shape(report: Report) -> dict[str, Any]:
    """ReportResponse, as the reporter sees it."""
    return {
        "id": str(report.id),
        "message_id": str(report.message_id),
        "reason": report.reason,
        "status": report.status,
        "created_at": ts(report.created_at),
    }


def admin_report_shape(report: Report, server_id: uuid.UUID | None) -> dict[str, Any]:
    """A report as instance admins review it (an addition; the original has no such route).
    Needs ``reporter`` loaded. Message content stays end-to-end encrypted: never included."""
    return {
        **report_shape(report),
        "channel_id": str(report.channel_id),
        "server_id": str(server_id) if server_id else None,
        "reporter_id": str(report.reporter_id),
        "reporter_username": report.reporter.username,
        "resolved_by": str(report.resolved_by_id) if report.resolved_by_id else None,
        "resolved_at": ts(report.resolved_at),
    }
