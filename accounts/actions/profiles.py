"""Users and profiles: search, profile updates, profile keys (api.md 2.4; the profile card,
which shows what two users share, is chat's: ``chat.actions.profiles``).

Profile updates change only the fields a request names; ``null`` clears ``about_me``,
``custom_status`` and ``custom_status_emoji`` (docs/api-messages.md, "Profiles and users").
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import ProfileKeyDistribution, User
from accounts.validation import check_display_name
from haven_site.api.encoding import decode_b64
from haven_site.api.errors import NotFound

CLEARABLE = ("about_me", "custom_status", "custom_status_emoji")


def find_user(username: str) -> User:
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise NotFound("User not found")
    return user


def do_update_profile(user: User, changes: dict[str, Any]) -> User:
    """``changes`` holds only the fields the request contained (absent = unchanged).
    ``display_name``: null keeps it; ``about_me``, ``custom_status``,
    ``custom_status_emoji``: null clears; ``encrypted_profile``: null keeps it."""
    updates: dict[str, Any] = {}
    if changes.get("display_name") is not None:
        check_display_name(changes["display_name"])
        updates["display_name"] = changes["display_name"]
    for name in CLEARABLE:
        if name in changes:
            updates[name] = changes[name]
    if changes.get("encrypted_profile") is not None:
        updates["encrypted_profile"] = decode_b64(
            changes["encrypted_profile"], "Invalid encrypted_profile encoding"
        )
    if updates:
        for name, value in updates.items():
            setattr(user, name, value)
        user.save(update_fields=[*updates, "updated_at"])
    return user


def do_distribute_profile_keys(user: User, distributions: list[dict[str, Any]]) -> int:
    """Upsert the caller's profile key sealed for each recipient (all or nothing). Unknown
    recipients answer 404."""
    decoded = [
        (
            entry["to_user_id"],
            decode_b64(entry["encrypted_profile_key"], "Invalid encrypted_profile_key encoding"),
        )
        for entry in distributions
    ]
    recipients = {to for to, _ in decoded}
    if len(recipients) != User.objects.filter(id__in=recipients).count():
        raise NotFound("User not found")
    latest = dict(decoded)  # a recipient named twice: the last entry wins
    with transaction.atomic():
        now = timezone.now()
        ProfileKeyDistribution.objects.bulk_create(
            [
                ProfileKeyDistribution(
                    from_user=user, to_user_id=to, encrypted_profile_key=key, created_at=now
                )
                for to, key in latest.items()
            ],
            update_conflicts=True,
            unique_fields=["from_user", "to_user"],
            update_fields=["encrypted_profile_key", "created_at"],
        )
    return len(distributions)


def profile_key(viewer: User, from_user_id: uuid.UUID) -> bytes:
    key = (
        ProfileKeyDistribution.objects.filter(from_user_id=from_user_id, to_user=viewer)
        .values_list("encrypted_profile_key", flat=True)
        .first()
    )
    if key is None:
        raise NotFound("Profile key not found")
    return bytes(key)
