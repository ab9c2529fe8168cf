"""Login sessions: refresh-token families, rotation with reuse detection, revocation.

A refresh token is 48 random bytes (URL-safe base64, 64 characters); only its SHA-256 is stored.
Rotation happens under a row lock, so two concurrent refreshes with one token cannot both win
(docs/decisions.md, "Accounts and sign-in").
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import hooks
from accounts.devices import device_name, mask_ip
from accounts.models import DeviceSession, RefreshToken, User
from accounts.tokens import issue_access_token
from haven_site.api.encoding import ts
from haven_site.api.errors import Forbidden, NotFound, Unauthorized

logger = logging.getLogger("haven.auth")

REUSE_MESSAGE = "Token reuse detected — all sessions revoked for security. Please log in again."
SUSPENDED_CODE = "account_suspended"


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_refresh_token(session: DeviceSession) -> str:
    token = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    RefreshToken.objects.create(
        session=session,
        token_hash=_hash(token),
        expires_at=timezone.now() + timedelta(days=settings.HAVEN.refresh_token_expiry_days),
    )
    return token


def check_not_suspended(user: User) -> None:
    """403 while an admin's suspension lasts, with its reason and end (docs/moderation.md)."""
    if not user.is_suspended:
        return
    until = ts(user.suspended_until)
    reason = user.suspension_reason or ""
    message = f"Account suspended until {until}" if until else "Account suspended"
    raise Forbidden(
        f"{message}: {reason}" if reason else message,
        extra={"code": SUSPENDED_CODE, "reason": reason, "suspended_until": until},
    )


def do_start_session(user: User, *, user_agent: str | None, ip: str | None) -> Tokens:
    """A new family for a login or registration, with its device label and masked address."""
    session = DeviceSession.objects.create(
        user=user,
        device_name=device_name(user_agent),
        ip_address=mask_ip(ip),
        last_activity=timezone.now(),
    )
    return Tokens(issue_access_token(user.id, session.id), _new_refresh_token(session))


def do_refresh(presented: str) -> tuple[User, Tokens]:
    """Rotate a refresh token. A replayed (already rotated) token revokes every session of its
    user; that revocation is committed before the 401 goes out."""
    with transaction.atomic():
        row = (
            RefreshToken.objects.select_for_update()
            .select_related("session__user")
            .filter(token_hash=_hash(presented), expires_at__gt=timezone.now())
            .first()
        )
        if row is None:
            raise Unauthorized("Invalid or expired refresh token")
        session = row.session
        user = session.user
        check_not_suspended(user)  # sessions end at suspension; this guards a racing sign-in
        if not row.revoked:
            row.revoked = True
            row.save(update_fields=["revoked"])
            session.last_activity = timezone.now()
            session.save(update_fields=["last_activity"])
            return user, Tokens(
                issue_access_token(user.id, session.id), _new_refresh_token(session)
            )
        logger.warning("Refresh token reuse: user %s, session %s", user.id, session.id)
        do_end_all_sessions(user)
    raise Unauthorized(REUSE_MESSAGE)


def do_end_all_sessions(user: User) -> None:
    DeviceSession.objects.filter(user=user).delete()
    hooks.signed_out.send_on_commit(hooks.SignedOut(user.id))


def do_revoke_session(user: User, session_id: uuid.UUID) -> None:
    """End one login session: its refresh tokens and access tokens stop working, and its open
    sockets are closed on every instance once this commits."""
    with transaction.atomic():
        deleted, _ = DeviceSession.objects.filter(user=user, id=session_id).delete()
        if not deleted:
            raise NotFound("Session not found")
        hooks.login_session_ended.send_on_commit(hooks.LoginSessionEnded(user.id, session_id))


def do_end_sessions(sessions: Iterable[DeviceSession]) -> int:
    """End the given login sessions (the admin's revocations), each as ``do_revoke_session``
    does. The number ended."""
    ended = 0
    with transaction.atomic():
        for session in sessions:
            deleted, _ = DeviceSession.objects.filter(id=session.id).delete()
            if deleted:
                ended += 1
                change = hooks.LoginSessionEnded(session.user_id, session.id)
                hooks.login_session_ended.send_on_commit(change)
    return ended


def live_sessions(user: User) -> list[tuple[DeviceSession, RefreshToken]]:
    """One entry per family with a live token; the newest live token represents it."""
    now = timezone.now()
    tokens = (
        RefreshToken.objects.filter(session__user=user, revoked=False, expires_at__gt=now)
        .select_related("session")
        .order_by("session_id", "-created_at")
    )
    newest: dict[uuid.UUID, tuple[DeviceSession, RefreshToken]] = {}
    for token in tokens:
        newest.setdefault(token.session_id, (token.session, token))
    return [newest[key] for key in sorted(newest, key=str)]
