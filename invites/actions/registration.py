"""Registration invites (operations.md section 3): single-use 12-character codes.

A code is spent in the same transaction that creates the account, with a conditional update, so
two registrations racing for one code cannot both succeed (operations.md 2.7).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.actions.instance_audit import Action, Actor, record
from accounts.hooks import Registered, Registering
from accounts.models import User
from haven_site.api.encoding import ts
from haven_site.api.errors import BadRequest, NotFound
from invites.models import RegistrationInvite

MAX_ADMIN_BATCH = 50
MAX_EXPIRY_DAYS = 365 * 100  # far enough; beyond it the date would overflow


def new_code() -> str:
    """9 random bytes as URL-safe base64: 12 characters of ``A-Z a-z 0-9 - _``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()


def default_expiry() -> datetime | None:
    days = settings.HAVEN.registration_invite_expiry_days
    return timezone.now() + timedelta(days=days) if days else None


def check_registration_invite(code: str | None) -> RegistrationInvite:
    if not code:
        raise BadRequest("Registration invite code required")
    invite = RegistrationInvite.objects.select_for_update().filter(code=code).first()
    if invite is None:
        raise BadRequest("Invalid registration invite code")
    if invite.used_at is not None:
        raise BadRequest("This invite code has already been used")
    if invite.expires_at is not None and invite.expires_at <= timezone.now():
        raise BadRequest("This invite code has expired")
    return invite


def do_consume_invite(invite: RegistrationInvite, user: User) -> None:
    spent = RegistrationInvite.objects.filter(pk=invite.pk, used_at__isnull=True).update(
        used_by=user, used_at=timezone.now()
    )
    if not spent:
        raise BadRequest("This invite code has already been used")


def do_grant_invites(
    count: int, *, created_by: User | None, expires_at: datetime | None = None
) -> list[RegistrationInvite]:
    """``count`` fresh codes; ``expires_at`` defaults to REGISTRATION_INVITE_EXPIRY_DAYS."""
    if count <= 0:
        return []
    expiry = expires_at or default_expiry()
    invites = [
        RegistrationInvite(code=new_code(), created_by=created_by, expires_at=expiry)
        for _ in range(count)
    ]
    return RegistrationInvite.objects.bulk_create(invites)


def check_on_registering(registration: Registering) -> None:
    """The ``registering`` hook: in invite-only mode, everyone but the first user needs a valid
    code (locked until the registration's transaction ends)."""
    if settings.HAVEN.registration_invite_only and not registration.first_user:
        check_registration_invite(registration.invite_code)


def spend_on_registered(registration: Registered) -> None:
    """The ``registered`` hook: spend the code, then grant the new user their own codes."""
    if not settings.HAVEN.registration_invite_only:
        return
    if not registration.first_user:
        do_consume_invite(check_registration_invite(registration.invite_code), registration.user)
    do_grant_invites(settings.HAVEN.registration_invites_per_user, created_by=registration.user)


def invites_of(user: User) -> list[RegistrationInvite]:
    return list(RegistrationInvite.objects.filter(created_by=user).order_by("-created_at", "-id"))


def all_invites(limit: int, offset: int) -> list[RegistrationInvite]:
    return list(RegistrationInvite.objects.order_by("-created_at", "-id")[offset : offset + limit])


def do_issue_invites(
    actor: Actor, count: int, *, owner: User | None, expires_at: datetime | None = None
) -> list[RegistrationInvite]:
    """Codes issued by an instance admin or an operator, recorded in the instance audit log."""
    with transaction.atomic():
        invites = do_grant_invites(count, created_by=owner, expires_at=expires_at)
        if invites:
            record(
                actor,
                Action.INVITES_ISSUE,
                target_type="invites",
                target_id=None,
                target_label=f"{len(invites)} registration invite(s)",
                details={
                    "count": len(invites),
                    "for": owner.username if owner else None,
                    "expires_at": ts(invites[0].expires_at),
                },
            )
    return invites


def do_admin_create_invites(
    actor: Actor, count: int, expires_in_days: int | None = None
) -> list[RegistrationInvite]:
    if expires_in_days is not None and expires_in_days > MAX_EXPIRY_DAYS:
        raise BadRequest("expires_in_days is too large")
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    return do_issue_invites(
        actor, min(count, MAX_ADMIN_BATCH), owner=actor.user, expires_at=expires_at
    )


def do_revoke_invites(actor: Actor, invite_ids: list[uuid.UUID]) -> int:
    """Delete the unused ones among ``invite_ids``; one entry per revoked code."""
    with transaction.atomic():
        doomed = list(
            RegistrationInvite.objects.select_for_update().filter(
                id__in=invite_ids, used_at__isnull=True
            )
        )
        RegistrationInvite.objects.filter(id__in=[i.id for i in doomed]).delete()
        for invite in doomed:
            record(
                actor,
                Action.INVITES_REVOKE,
                target_type="invite",
                target_id=invite.id,
                target_label=invite.code,
            )
    return len(doomed)


def do_revoke_invite(actor: Actor, invite_id: uuid.UUID) -> None:
    if not do_revoke_invites(actor, [invite_id]):
        raise NotFound("Invite not found or already used")
