"""Shapes of message reports (api.md 1.9 ReportResponse), of the reporter's own list and of the
admins' review (both additions), and the ``ReportResolved`` event payload (docs/moderation.md)."""

from __future__ import annotations

import uuid
from typing import Any

from chat.models import Report
from haven_site.api.encoding import ts


def report_shape(report: Report) -> dict[str, Any]:
    """ReportResponse, as the reporter sees it when filing."""
    return {
        "id": str(report.id),
        "message_id": str(report.message_id),
        "reason": report.reason,
        "status": report.status,
        "created_at": ts(report.created_at),
    }


def my_report_shape(report: Report) -> dict[str, Any]:
    """A report in its reporter's list (GET /reports): ReportResponse plus where, what the
    reporter shared, and how it ended."""
    return {
        **report_shape(report),
        "channel_id": str(report.channel_id),
        "content": report.reporter_content,
        "attachment_names": report.reporter_attachment_names,
        "outcome": report.outcome,
        "resolved_at": ts(report.resolved_at),
    }


def admin_report_shape(report: Report, server_id: uuid.UUID | None) -> dict[str, Any]:
    """A report as instance admins review it. Needs ``reporter`` and ``reported_user`` loaded.
    ``content`` and ``attachment_names`` are the reporter's word: the server cannot check them
    against the end-to-end-encrypted message."""
    reported = report.reported_user
    return {
        **report_shape(report),
        "channel_id": str(report.channel_id),
        "server_id": str(server_id) if server_id else None,
        "reporter_id": str(report.reporter_id),
        "reporter_username": report.reporter.username,
        "resolved_by": str(report.resolved_by_id) if report.resolved_by_id else None,
        "resolved_at": ts(report.resolved_at),
        "reported_user_id": str(reported.id) if reported else None,
        "reported_username": reported.username if reported else None,
        "content": report.reporter_content,
        "attachment_names": report.reporter_attachment_names,
        "outcome": report.outcome,
    }


def report_resolved_payload(report: Report) -> dict[str, Any]:
    return {
        "report_id": str(report.id),
        "message_id": str(report.message_id),
        "channel_id": str(report.channel_id),
        "status": report.status,
        "outcome": report.outcome,
        "resolved_at": ts(report.resolved_at),
    }
