"""TOTP setup, verification and removal (api.md 2.2). Verifying with nothing pending keeps 2FA on,
and a pending setup expires (docs/decisions.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import totp
from accounts.models import User
from haven_site.api.errors import BadRequest, Unauthorized

PENDING_SETUP_TTL = timedelta(minutes=15)


def do_setup(user: User) -> dict[str, Any]:
    if user.totp_secret is not None:
        raise BadRequest("TOTP already enabled")
    secret = totp.new_secret()
    user.pending_totp_secret = totp.seal_secret(secret)
    user.pending_totp_created_at = timezone.now()
    user.save(update_fields=["pending_totp_secret", "pending_totp_created_at", "updated_at"])
    return {"secret": secret, "qr_code_uri": totp.provisioning_uri(secret, user.username)}


def _pending_secret(user: User) -> str | None:
    if user.pending_totp_secret is None or user.pending_totp_created_at is None:
        return None
    if timezone.now() - user.pending_totp_created_at > PENDING_SETUP_TTL:
        return None
    return totp.open_secret(user.pending_totp_secret)


@transaction.atomic
def do_verify(user: User, code: str) -> None:
    user = User.objects.select_for_update().get(pk=user.pk)
    pending = _pending_secret(user)
    active = totp.open_secret(user.totp_secret) if user.totp_secret is not None else None
    secret = pending or active
    if secret is None:
        raise BadRequest("TOTP not set up")
    step = totp.matching_step(secret, code)
    # The replay guard belongs to the active secret: a new secret's first code is always fresh.
    last_step = None if pending is not None else user.totp_last_step
    if step is None or (last_step is not None and step <= last_step):
        raise Unauthorized("Invalid TOTP code")
    if pending is not None:
        user.totp_secret = user.pending_totp_secret
    user.pending_totp_secret = None
    user.pending_totp_created_at = None
    user.totp_last_step = step
    user.save()


def do_disable(user: User) -> None:
    User.objects.filter(pk=user.pk).update(
        totp_secret=None, pending_totp_secret=None, pending_totp_created_at=None
    )
