"""The server audit log (api.md 2.18): ``record_audit`` for every action that writes one, and the
newest-first cursor listing behind ``GET /servers/{id}/audit-log``."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, access_server
from chat.models import AuditLogEntry
from chat.permissions import Permission

logger = logging.getLogger("haven.audit")

MAX_PAGE = 100
DEFAULT_PAGE = 50


def record_audit(
    server_id: uuid.UUID,
    actor_id: uuid.UUID,
    action: str,
    target_type: str | None = None,
    target_id: uuid.UUID | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditLogEntry | None:
    """Write one audit entry, best effort: a failure is logged and does not fail the request.
    Inside the caller's transaction it runs in a savepoint, so a failed insert does not poison
    that transaction (PostgreSQL), and it disappears if the action rolls back."""
    try:
        with transaction.atomic():
            return AuditLogEntry.objects.create(
                server_id=server_id,
                actor_id=actor_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                changes=changes,
                reason=reason,
            )
    except DatabaseError:
        logger.exception("Could not write the audit entry %s", action)
        return None


def audit_page(server_id: uuid.UUID, *, before: datetime | None, limit: int) -> list[AuditLogEntry]:
    """Newest first; ``before`` is exclusive; ``limit`` clamped into 1..100. One query."""
    limit = min(max(limit, 1), MAX_PAGE)
    entries = AuditLogEntry.objects.filter(server_id=server_id).select_related("actor")
    if before is not None:
        entries = entries.filter(created_at__lt=before)
    return list(entries.order_by("-created_at", "-id")[:limit])


def audit_log(
    user: User, server_id: uuid.UUID, *, before: datetime | None, limit: int
) -> list[AuditLogEntry]:
    """GET /servers/{id}/audit-log: PERM(VIEW_AUDIT_LOG)."""
    access = access_server(
        user.id, server_id, need=Permission.VIEW_AUDIT_LOG, missing_server=SERVER_NOT_FOUND
    )
    return audit_page(access.server.id, before=before, limit=limit)
