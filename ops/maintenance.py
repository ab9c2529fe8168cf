"""Periodic housekeeping (operations.md 1.7), run by ``manage.py maintenance``.

Each task runs at most once per interval across every process that runs maintenance: a task
takes a cache lock (Redis when configured) named after it, held for its interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.utils import timezone

logger = logging.getLogger("haven.maintenance")


def purge_expired_messages() -> int:
    from chat.actions.messages import purge_expired_messages as purge

    return purge()


def purge_expired_sessions() -> int:
    """Rotated or expired refresh tokens past their expiry, and sessions with no live token.
    A session ends as a revoked one does: its sockets are closed on every instance and a call
    it joined ends (a socket that only listens would otherwise stay open on it)."""
    from accounts.actions.sessions import do_end_sessions
    from accounts.models import DeviceSession, RefreshToken

    now = timezone.now()
    tokens, _ = RefreshToken.objects.filter(expires_at__lte=now).delete()
    live = RefreshToken.objects.filter(session=OuterRef("pk"), expires_at__gt=now)
    sessions = do_end_sessions(DeviceSession.objects.filter(~Exists(live)).only("id", "user_id"))
    return tokens + sessions


def purge_expired_server_invites() -> int:
    from invites.models import ServerInvite

    if not settings.HAVEN.expired_invite_cleanup:
        return 0
    deleted, _ = ServerInvite.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def purge_old_audit_log() -> int:
    from chat.models import AuditLogEntry

    days = settings.HAVEN.audit_log_retention_days
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = AuditLogEntry.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def purge_resolved_reports() -> int:
    from chat.models import Report, ReportStatus

    days = settings.HAVEN.resolved_report_retention_days
    if not days:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    old = Report.objects.exclude(status=ReportStatus.PENDING).filter(created_at__lt=cutoff)
    deleted, _ = old.delete()
    return deleted


def collect_orphan_files() -> int:
    from chat.storage import collect_orphans

    collected = collect_orphans()
    return collected.unlinked_rows + collected.files


@dataclass(frozen=True)
class Task:
    name: str
    every: timedelta
    run: Callable[[], int]


TASKS = [
    Task("expired-messages", timedelta(seconds=60), purge_expired_messages),
    Task("expired-sessions", timedelta(minutes=5), purge_expired_sessions),
    Task("expired-server-invites", timedelta(hours=1), purge_expired_server_invites),
    Task("audit-log-retention", timedelta(days=1), purge_old_audit_log),
    Task("resolved-report-retention", timedelta(days=1), purge_resolved_reports),
    Task("orphan-files", timedelta(days=1), collect_orphan_files),
]


def run_due(tasks: list[Task] | None = None) -> dict[str, int]:
    """Run every task whose lock is free (i.e. not run within its interval anywhere)."""
    done: dict[str, int] = {}
    for task in tasks or TASKS:
        if not cache.add(f"maintenance:{task.name}", 1, timeout=int(task.every.total_seconds())):
            continue
        try:
            done[task.name] = task.run()
        except Exception:
            logger.exception("Maintenance task %s failed", task.name)
            cache.delete(f"maintenance:{task.name}")  # retry at the next tick
            continue
        if done[task.name]:
            logger.info("Maintenance %s: %d row(s) removed", task.name, done[task.name])
    return done
