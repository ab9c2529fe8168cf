"""``manage.py issue_invites --count N [--expires-in DAYS] [--for USERNAME]``: print new codes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.actions.instance_audit import Actor
from accounts.models import User
from invites.actions.registration import MAX_EXPIRY_DAYS, do_issue_invites


class Command(BaseCommand):
    help = "Issue single-use registration invite codes and print them, one per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=1, help="how many codes (1-1000)")
        parser.add_argument(
            "--expires-in", type=int, default=None, metavar="DAYS", help="days until they expire"
        )
        parser.add_argument(
            "--for", dest="owner", default=None, metavar="USERNAME",
            help="list the codes under this user's invite codes in the app",
        )  # fmt: skip

    def handle(
        self, *args: Any, count: int, expires_in: int | None, owner: str | None, **options: Any
    ) -> None:
        if not 1 <= count <= 1000:
            raise CommandError("--count must be between 1 and 1000")
        if expires_in is not None and not 1 <= expires_in <= MAX_EXPIRY_DAYS:
            raise CommandError(f"--expires-in must be at least 1 day and at most {MAX_EXPIRY_DAYS}")
        created_by = None
        if owner is not None:
            created_by = User.objects.filter(username__iexact=owner).first()
            if created_by is None:
                raise CommandError(f"No user named {owner!r}")
        expires_at = timezone.now() + timedelta(days=expires_in) if expires_in else None
        actor = Actor.command("issue_invites")
        invites = do_issue_invites(actor, count, owner=created_by, expires_at=expires_at)
        for invite in invites:
            self.stdout.write(invite.code)
        if expires_at is not None:
            self.stderr.write(f"{count} code(s), valid until {expires_at:%Y-%m-%d %H:%M} UTC")
