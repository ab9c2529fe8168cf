"""What the user-moderation commands share: a USER argument (username or id), a --reason, the
command-line actor of the instance audit log, and action errors turned into a non-zero exit."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.actions.admin import find_user
from accounts.actions.instance_audit import Actor
from accounts.models import User
from haven_site.api.errors import ApiError


class UserCommand(BaseCommand):
    reason_help = "why (kept in the instance audit log)"
    reason_required = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", metavar="USER", help="username (any case) or user id")
        parser.add_argument(
            "--reason", default="", required=self.reason_required, help=self.reason_help
        )

    def actor(self) -> Actor:
        return Actor.command(self.__module__.rsplit(".", 1)[-1])

    def handle(self, *args: Any, user: str, **options: Any) -> None:
        try:
            target = find_user(user)
            self.stdout.write(self.act(target, **options))
        except ApiError as error:
            raise CommandError(f"{error.message} ({user})") from None

    def act(self, user: User, **options: Any) -> str:
        raise NotImplementedError
