"""An instance admin's decision on a report (docs/moderation.md): dismiss it, resolve it, or act
on the reported message and its author: delete the message, time the author out or ban them in
that server, suspend them instance-wide.

A decision is about the message, so it settles every pending report of that message at once:
each gets the same status and outcome, and each reporter receives ``ReportResolved``. The
sanction, the reports' new state, the instance audit entry and the events commit together or
not at all. Instance admins act through the same functions as server moderators do, without the
server's permission checks (they hold no role there) but with its fixed rules: never the owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actions.admin import check_reason, do_suspend
from accounts.actions.instance_audit import Action, Actor, record
from accounts.models import User
from chat.actions.messages import MESSAGE_NOT_FOUND, remove_message
from chat.actions.moderation import MAX_TIMEOUT_SECONDS, ban_member, time_out_member
from chat.actions.reports import REPORT_NOT_FOUND, STATUS_DECISION, notify_report_resolved
from chat.meta import label
from chat.models import (
    Ban,
    Channel,
    Message,
    Report,
    ReportOutcome,
    ReportStatus,
    Server,
    ServerMember,
)
from haven_site.api.errors import BadRequest, Conflict, Forbidden, NotFound

DISMISS = "dismiss"
RESOLVE = "resolve"
DELETE_MESSAGE = "delete_message"
TIMEOUT_AUTHOR = "timeout_author"
BAN_AUTHOR = "ban_author"
SUSPEND_AUTHOR = "suspend_author"
KINDS = (DISMISS, RESOLVE, DELETE_MESSAGE, TIMEOUT_AUTHOR, BAN_AUTHOR, SUSPEND_AUTHOR)

OUTCOMES = {
    DISMISS: ReportOutcome.DISMISSED,
    RESOLVE: ReportOutcome.RESOLVED,
    DELETE_MESSAGE: ReportOutcome.MESSAGE_DELETED,
    TIMEOUT_AUTHOR: ReportOutcome.AUTHOR_TIMED_OUT,
    BAN_AUTHOR: ReportOutcome.AUTHOR_BANNED,
    SUSPEND_AUTHOR: ReportOutcome.AUTHOR_SUSPENDED,
}
AUTHOR_GONE = "The author's account no longer exists"
NOT_A_SERVER = "This report is not about a server channel"


@dataclass(frozen=True)
class Decision:
    kind: str
    reason: str = ""
    timeout_seconds: int = 0  # TIMEOUT_AUTHOR: 1 second to 28 days
    suspend_until: datetime | None = None  # SUSPEND_AUTHOR: None suspends until lifted


def check_decision(decision: Decision) -> str:
    if decision.kind not in KINDS:
        raise BadRequest(f"Unknown decision {decision.kind!r}")
    if decision.kind == TIMEOUT_AUTHOR and not 1 <= decision.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        raise BadRequest(f"A timeout lasts 1 to {MAX_TIMEOUT_SECONDS} seconds")
    return check_reason(decision.reason, required=decision.kind == SUSPEND_AUTHOR)


def do_review(admin: User, report_id: uuid.UUID, status: str) -> Report:
    """PUT /admin/reports/{id} with ``resolved`` or ``dismissed``: a decision without action."""
    if status not in (ReportStatus.RESOLVED, ReportStatus.DISMISSED):
        raise BadRequest(STATUS_DECISION)
    kind = RESOLVE if status == ReportStatus.RESOLVED else DISMISS
    return do_decide(Actor.api(admin), report_id, Decision(kind))


def do_decide(actor: Actor, report_id: uuid.UUID, decision: Decision) -> Report:
    """Carry out ``decision`` on the report and settle every pending report of its message."""
    reason = check_decision(decision)
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(id=report_id).first()
        if report is None:
            raise NotFound(REPORT_NOT_FOUND)
        covered = list(
            Report.objects.select_for_update()
            .filter(Q(id=report.id) | Q(message_id=report.message_id, status=ReportStatus.PENDING))
            .order_by("created_at", "id")
        )
        report_ids = [str(r.id) for r in covered]
        _carry_out(actor, report, decision, reason, report_ids)
        _settle(actor, covered, decision.kind)
    report.refresh_from_db()
    return report


def _settle(actor: Actor, covered: list[Report], kind: str) -> None:
    status = ReportStatus.DISMISSED if kind == DISMISS else ReportStatus.RESOLVED
    now = timezone.now()
    for each in covered:
        each.status = status
        each.outcome = OUTCOMES[kind]
        each.resolved_by = actor.user
        each.resolved_at = now
        each.save(update_fields=["status", "outcome", "resolved_by", "resolved_at"])
        notify_report_resolved(each)


def _carry_out(
    actor: Actor, report: Report, decision: Decision, reason: str, report_ids: list[str]
) -> None:
    """The sanction of the decision, if any, and its instance audit entry."""
    kind = decision.kind
    details: dict[str, object] = {"outcome": OUTCOMES[kind], "report_ids": report_ids}
    if kind in (DISMISS, RESOLVE):
        record(
            actor,
            Action.REPORT_DISMISS if kind == DISMISS else Action.REPORT_RESOLVE,
            target_type="report",
            target_id=report.id,
            target_label=report.reason[:80],
            reason=reason,
            details=details,
        )
        return
    if kind == DELETE_MESSAGE:
        _delete_message(actor, report, reason, details)
        return
    author = report.reported_user
    if author is None:
        raise NotFound(AUTHOR_GONE)
    if kind == SUSPEND_AUTHOR:
        do_suspend(actor, author, reason=reason, until=decision.suspend_until, context=details)
        return
    if actor.user is None:
        raise BadRequest("Server sanctions need an acting admin account")
    server = _server_of(report)
    if author.id == server.owner_id:
        raise Forbidden(f"Cannot {'ban' if kind == BAN_AUTHOR else 'timeout'} the server owner")
    details["server_id"] = str(server.id)
    if kind == BAN_AUTHOR:
        if Ban.objects.filter(server=server, user=author).exists():
            raise Conflict("User is already banned from this server")
        ban_member(server, author, by=actor.user, reason=reason or None)
        action = Action.MEMBER_BAN
    else:
        if not ServerMember.objects.filter(server=server, user=author).exists():
            raise NotFound("The author is no longer a member of this server")
        until = time_out_member(
            server,
            author.id,
            by=actor.user,
            duration_seconds=decision.timeout_seconds,
            reason=reason or None,
        )
        details["until"] = until.isoformat() if until else None
        action = Action.MEMBER_TIMEOUT
    record(
        actor,
        action,
        target_type="user",
        target_id=author.id,
        target_label=f"{author.username} in {label(server.encrypted_meta, server.id)}",
        reason=reason,
        details=details,
    )


def _server_of(report: Report) -> Server:
    channel = Channel.objects.select_related("server").filter(id=report.channel_id).first()
    if channel is None or channel.server is None:
        raise BadRequest(NOT_A_SERVER)
    return channel.server


def _delete_message(actor: Actor, report: Report, reason: str, details: dict[str, object]) -> None:
    message = Message.objects.select_related("channel").filter(id=report.message_id).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    remove_message(message, moderator_id=actor.user_id, keep_reports=True)
    details["channel_id"] = str(message.channel_id)
    details["author_id"] = str(message.sender_id) if message.sender_id else None
    record(
        actor,
        Action.MESSAGE_DELETE,
        target_type="message",
        target_id=message.id,
        target_label=f"in {label(message.channel.encrypted_meta, message.channel_id)}",
        reason=reason,
        details=details,
    )
