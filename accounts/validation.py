"""Account field rules (operations.md 2.2-2.3)."""

from __future__ import annotations

import re

from haven_site.api.errors import BadRequest

USERNAME = re.compile(r"[A-Za-z0-9_-]+")
MAX_DISPLAY_NAME = 64


def check_username(username: str) -> None:
    if not 3 <= len(username) <= 32:
        raise BadRequest("username: Username must be 3-32 characters")
    if not USERNAME.fullmatch(username):
        raise BadRequest(
            "username: Username can only contain letters, numbers, underscores and hyphens"
        )


def check_password_length(password: str) -> None:
    """Registration counts characters (8-128), as the spec."""
    if not 8 <= len(password) <= 128:
        raise BadRequest("password: Password must be 8-128 characters")


def check_new_password(password: str) -> None:
    """Password change counts UTF-8 bytes (8-128), as the spec."""
    if not 8 <= len(password.encode()) <= 128:
        raise BadRequest("New password must be 8-128 characters")


def check_display_name(display_name: str | None) -> None:
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise BadRequest(f"display_name must be at most {MAX_DISPLAY_NAME} characters")
