"""``manage.py reset_2fa USER [--reason TEXT]``."""

from __future__ import annotations

from typing import Any

from accounts.actions.admin import do_reset_2fa
from accounts.management.base import UserCommand
from accounts.models import User


class Command(UserCommand):
    help = (
        "Turn off a user's two-factor authentication (a lost authenticator): their password "
        "alone signs them in, and they can set up 2FA again."
    )

    def act(self, user: User, **options: Any) -> str:
        if do_reset_2fa(self.actor(), user, reason=options["reason"]):
            return f"Two-factor authentication of {user.username} is off."
        return f"{user.username} has no two-factor authentication; nothing changed."
