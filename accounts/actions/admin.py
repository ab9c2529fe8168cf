"""Instance administration of users (api.md 2.26, operations.md 8.6) and the moderation desk's
user sanctions (docs/moderation.md): suspend, unsuspend, sign out everywhere, reset 2FA, require
a new password, grant or remove instance admin, delete.

The Django admin, the admin API and the management commands all call these functions; each
records itself in the instance audit log (``accounts.actions.instance_audit``) in the same
transaction as its change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.actions.auth import do_delete_user
from accounts.actions.instance_audit import Action, Actor, record
from accounts.actions.sessions import do_end_all_sessions, do_end_sessions
from accounts.models import DeviceSession, User
from haven_site.api.encoding import ts
from haven_site.api.errors import BadRequest, NotFound

MAX_REASON = 1000
USER_NOT_FOUND = "User not found"


def search_users(search: str | None, limit: int, offset: int) -> QuerySet[User]:
    users = User.objects.annotate(server_count=Count("memberships")).order_by("-created_at", "id")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return users[offset : offset + limit]


def find_user(ref: str) -> User:
    """A user by username (case-insensitive) or id, for commands and admin forms."""
    user = User.objects.filter(username__iexact=ref).first()
    if user is None:
        try:
            user = User.objects.filter(id=uuid.UUID(ref)).first()
        except ValueError:
            user = None
    if user is None:
        raise NotFound(USER_NOT_FOUND)
    return user


def check_reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise BadRequest("A reason is required")
    if len(text) > MAX_REASON:
        raise BadRequest(f"The reason must be at most {MAX_REASON} characters")
    return text


def _refresh(user: User) -> User:
    user.refresh_from_db()
    return user


def do_suspend(
    actor: Actor,
    user: User,
    *,
    reason: str,
    until: datetime | None = None,
    context: dict[str, Any] | None = None,
) -> User:
    """Suspend ``user`` until ``until`` (forever when None): every login session ends at once,
    so tokens stop working, sockets close on every instance and voice is left; sign-in and
    refresh answer 403 with the reason until the suspension ends or is lifted. Suspending a
    suspended user replaces the reason and the end. ``context`` joins the audit details (the
    report it came from)."""
    reason = check_reason(reason, required=True)
    now = timezone.now()
    if actor.user_id == user.id:
        raise BadRequest("Cannot suspend yourself")
    if until is not None and until <= now:
        raise BadRequest("The suspension must end in the future")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            suspended_at=now, suspended_until=until, suspension_reason=reason, updated_at=now
        )
        do_end_all_sessions(user)
        record(
            actor,
            Action.USER_SUSPEND,
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
            details={**(context or {}), "until": ts(until)},
        )
    return _refresh(user)


def do_unsuspend(actor: Actor, user: User, *, reason: str = "") -> User:
    reason = check_reason(reason, required=False)
    if not user.is_suspended:
        raise BadRequest(f"{user.username} is not suspended")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            suspended_at=None, suspended_until=None, suspension_reason=None
        )
        record(
            actor,
            Action.USER_UNSUSPEND,
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
        )
    return _refresh(user)


def do_sign_out_everywhere(actor: Actor, user: User, *, reason: str = "") -> int:
    """End every login session of ``user`` (sockets close on every instance); how many."""
    reason = check_reason(reason, required=False)
    with transaction.atomic():
        count = DeviceSession.objects.filter(user=user).count()
        do_end_all_sessions(user)
        record(
            actor,
            Action.SESSIONS_REVOKE,
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
            details={"sessions": count, "all": True},
        )
    return count


def do_revoke_sessions(actor: Actor, sessions: Iterable[DeviceSession]) -> int:
    """End the given login sessions (just their sockets close); one entry per user touched."""
    chosen = list(sessions)
    with transaction.atomic():
        ended = do_end_sessions(chosen)
        by_user: dict[uuid.UUID, list[str]] = {}
        for session in chosen:
            by_user.setdefault(session.user_id, []).append(str(session.id))
        names = dict(User.objects.filter(id__in=by_user).values_list("id", "username"))
        for user_id, ids in by_user.items():
            record(
                actor,
                Action.SESSIONS_REVOKE,
                target_type="user",
                target_id=user_id,
                target_label=names.get(user_id, ""),
                details={"sessions": len(ids), "session_ids": ids},
            )
    return ended


def do_reset_2fa(actor: Actor, user: User, *, reason: str = "") -> bool:
    """Turn two-factor authentication off (a lost authenticator): the password alone signs in
    again. False, and nothing recorded, when it was not on."""
    reason = check_reason(reason, required=False)
    if user.totp_secret is None and user.pending_totp_secret is None:
        return False
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            totp_secret=None,
            pending_totp_secret=None,
            pending_totp_created_at=None,
            totp_last_step=None,
            updated_at=timezone.now(),
        )
        record(
            actor,
            Action.TOTP_RESET,
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
        )
    _refresh(user)
    return True


def do_require_password_change(actor: Actor, user: User, *, reason: str = "") -> User:
    """The next sign-in must set a new password (POST /auth/login with ``new_password``); every
    session ends now, so that next sign-in is the user's next request."""
    reason = check_reason(reason, required=False)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(password_change_required=True)
        do_end_all_sessions(user)
        record(
            actor,
            Action.PASSWORD_CHANGE_REQUIRE,
            target_type="user",
            target_id=user.id,
            target_label=user.username,
            reason=reason,
        )
    return _refresh(user)


def do_set_admin(actor: Actor, target_id: uuid.UUID, is_admin: bool, *, reason: str = "") -> User:
    """Grant or remove instance admin. Admins cannot demote themselves (api.md 2.26); a change
    that changes nothing records nothing."""
    reason = check_reason(reason, required=False)
    if target_id == actor.user_id and not is_admin:
        raise BadRequest("Cannot remove your own admin status")
    with transaction.atomic():
        target = User.objects.select_for_update().filter(id=target_id).first()
        if target is None:
            raise NotFound(USER_NOT_FOUND)
        if target.is_instance_admin != is_admin:
            User.objects.filter(id=target_id).update(is_instance_admin=is_admin)
            record(
                actor,
                Action.ADMIN_GRANT if is_admin else Action.ADMIN_REVOKE,
                target_type="user",
                target_id=target.id,
                target_label=target.username,
                reason=reason,
            )
    return User.objects.get(id=target_id)


def do_admin_delete_user(actor: Actor, target_id: uuid.UUID, *, reason: str = "") -> None:
    """Account deletion with the self-deletion cleanup (``do_delete_user``); the audit entry
    keeps the username."""
    reason = check_reason(reason, required=False)
    if target_id == actor.user_id:
        raise BadRequest("Cannot delete your own account via admin panel")
    target = User.objects.filter(id=target_id).first()
    if target is None:
        raise NotFound(USER_NOT_FOUND)
    with transaction.atomic():
        do_delete_user(target)
        record(
            actor,
            Action.USER_DELETE,
            target_type="user",
            target_id=target_id,
            target_label=target.username,
            reason=reason,
        )
