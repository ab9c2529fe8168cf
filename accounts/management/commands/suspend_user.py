"""``manage.py suspend_user USER --reason TEXT [--days N | --until DATE]``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from accounts.actions.admin import do_suspend
from accounts.management.base import UserCommand
from accounts.models import User


class Command(UserCommand):
    help = (
        "Suspend a user: every session ends now (sockets close on every instance, voice is "
        "left) and sign-in answers with the reason until the suspension ends or is lifted."
    )
    reason_help = "why: shown to the user when they try to sign in, and kept in the audit log"
    reason_required = True

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        end = parser.add_mutually_exclusive_group()
        end.add_argument("--days", type=int, help="end after this many days (default: never)")
        end.add_argument(
            "--until", help="end at this UTC date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        )

    def act(self, user: User, **options: Any) -> str:
        until = _end(options.get("days"), options.get("until"))
        done = do_suspend(self.actor(), user, reason=options["reason"], until=until)
        when = f"until {done.suspended_until:%Y-%m-%d %H:%M} UTC" if until else "until lifted"
        return f"Suspended {user.username} {when}; every session ended."


def _end(days: int | None, until: str | None) -> datetime | None:
    if days is not None:
        if not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650")
        return timezone.now() + timedelta(days=days)
    if until is None:
        return None
    try:
        moment = datetime.fromisoformat(until)
    except ValueError:
        raise CommandError(f"--until {until!r} is not a date (YYYY-MM-DD[THH:MM])") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
