"""``manage.py unsuspend_user USER [--reason TEXT]``."""

from __future__ import annotations

from typing import Any

from accounts.actions.admin import do_unsuspend
from accounts.management.base import UserCommand
from accounts.models import User


class Command(UserCommand):
    help = "Lift a user's suspension: they can sign in again at once."

    def act(self, user: User, **options: Any) -> str:
        do_unsuspend(self.actor(), user, reason=options["reason"])
        return f"{user.username} is no longer suspended and can sign in again."
