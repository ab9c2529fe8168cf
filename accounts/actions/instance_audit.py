"""The instance audit log: the one writer of ``InstanceAuditEntry`` (docs/moderation.md).

Every instance-admin action records itself here, inside its own transaction, so an entry exists
exactly when the action happened (unlike servers' best-effort audit entries). ``Actor`` says who
acted and through which door: the Django admin, the admin API, or a management command run by
an operator (who has no Haven account, so the entry names the command and the OS user).
"""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from accounts.models import AuditVia, InstanceAuditEntry, User

MAX_LABEL = 200


class Action:
    """The ``action`` values of instance audit entries."""

    USER_SUSPEND = "user_suspend"
    USER_UNSUSPEND = "user_unsuspend"
    SESSIONS_REVOKE = "sessions_revoke"
    TOTP_RESET = "totp_reset"
    PASSWORD_CHANGE_REQUIRE = "password_change_require"  # noqa: S105 - an action name
    ADMIN_GRANT = "admin_grant"
    ADMIN_REVOKE = "admin_revoke"
    USER_DELETE = "user_delete"
    REPORT_DISMISS = "report_dismiss"
    REPORT_RESOLVE = "report_resolve"
    MESSAGE_DELETE = "message_delete"
    MEMBER_TIMEOUT = "member_timeout"
    MEMBER_BAN = "member_ban"
    SERVER_DELETE = "server_delete"
    SERVER_TRANSFER = "server_transfer"
    INVITES_ISSUE = "invites_issue"
    INVITES_REVOKE = "invites_revoke"


@dataclass(frozen=True)
class Actor:
    """Who performs an admin action: an instance admin (Django admin or admin API) or an
    operator at the command line."""

    user: User | None
    via: str
    name: str

    @classmethod
    def admin(cls, user: Any) -> Actor:
        return cls(user, AuditVia.ADMIN, user.username)

    @classmethod
    def api(cls, user: User) -> Actor:
        return cls(user, AuditVia.API, user.username)

    @classmethod
    def command(cls, command: str) -> Actor:
        try:
            who = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid (a bare container)
            who = "unknown"
        return cls(None, AuditVia.COMMAND, f"manage.py {command} ({who})")

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.user.id if self.user is not None else None


def record(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: uuid.UUID | None,
    target_label: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> InstanceAuditEntry:
    """Write one entry; call it inside the action's transaction (it fails with it)."""
    assert transaction.get_connection().in_atomic_block, "record inside the action's transaction"
    return InstanceAuditEntry.objects.create(
        actor=actor.user,
        actor_name=actor.name,
        via=actor.via,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:MAX_LABEL],
        reason=reason,
        details=details,
    )
