"""``manage.py revoke_sessions USER [--reason TEXT]``."""

from __future__ import annotations

from typing import Any

from accounts.actions.admin import do_sign_out_everywhere
from accounts.management.base import UserCommand
from accounts.models import User


class Command(UserCommand):
    help = (
        "Sign a user out of every device: their tokens stop working and their sockets close "
        "on every instance. They can sign in again."
    )

    def act(self, user: User, **options: Any) -> str:
        ended = do_sign_out_everywhere(self.actor(), user, reason=options["reason"])
        return f"Ended {ended} session(s) of {user.username}."
