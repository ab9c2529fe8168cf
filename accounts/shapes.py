"""JSON shapes of account objects (api.md 1.9), built by hand: explicit, and fast to render."""

from __future__ import annotations

from typing import Any

from accounts.models import DeviceSession, User
from haven_site.api.encoding import b64, ts


def avatar_url(user: User) -> str | None:
    return f"/api/v1/users/{user.id}/avatar" if user.has_avatar else None


def banner_url(user: User) -> str | None:
    return f"/api/v1/users/{user.id}/banner" if user.has_banner else None


def user_summary(user: User) -> dict[str, Any]:
    """The user in lists of people (members, friends, blocks, mutual friends, voice rosters)."""
    return {
        "user_id": str(user.id),
        "username": user.username,
        "display_name": user.display_name,
        "avatar_url": avatar_url(user),
    }


def public_fields(user: User) -> dict[str, Any]:
    """The fields UserPublic and the profile card share, in the spec's order."""
    return {
        "id": str(user.id),
        "username": user.username,
        "display_name": user.display_name,
        "about_me": user.about_me,
        "avatar_url": avatar_url(user),
        "banner_url": banner_url(user),
        "custom_status": user.custom_status,
        "custom_status_emoji": user.custom_status_emoji,
        "created_at": ts(user.created_at),
    }


def user_public(user: User) -> dict[str, Any]:
    """UserPublic: ``encrypted_profile`` omitted when null, ``is_instance_admin`` only when true."""
    shape = public_fields(user)
    if user.encrypted_profile is not None:
        shape["encrypted_profile"] = b64(user.encrypted_profile)
    if user.is_instance_admin:
        shape["is_instance_admin"] = True
    shape["totp_enabled"] = user.totp_enabled
    return shape


def auth_response(user: User, access_token: str, refresh_token: str) -> dict[str, Any]:
    return {"access_token": access_token, "refresh_token": refresh_token, "user": user_public(user)}


def session_shape(
    session: DeviceSession, token_id: Any, token_created: Any, current: Any
) -> dict[str, Any]:
    return {
        "id": str(token_id),
        "family_id": str(session.id),
        "device_name": session.device_name,
        "ip_address": session.ip_address,
        "last_activity": ts(session.last_activity),
        "created_at": ts(token_created),
        "is_current": session.id == current,
    }
