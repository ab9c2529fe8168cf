"""``manage.py promote_admin USER [--demote] [--reason TEXT]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from accounts.actions.admin import do_set_admin
from accounts.management.base import UserCommand
from accounts.models import User


class Command(UserCommand):
    help = (
        "Make a user an instance admin (the Django admin and the /api/v1/admin routes), or "
        "with --demote take it away."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--demote", action="store_true", help="remove instance admin")

    def act(self, user: User, **options: Any) -> str:
        wanted = not options["demote"]
        if user.is_instance_admin == wanted:
            return f"{user.username} {'already is' if wanted else 'is not'} an instance admin."
        do_set_admin(self.actor(), user.id, wanted, reason=options["reason"])
        return f"{user.username} is {'now' if wanted else 'no longer'} an instance admin."
