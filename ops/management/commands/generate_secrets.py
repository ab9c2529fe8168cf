"""``python manage.py generate_secrets``: a filled-in ``.env.production`` with fresh secrets."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.secrets import EXAMPLE, GENERATED, fresh_values, render_env, valid_domain, valid_email


class Command(BaseCommand):
    help = (
        "Write .env.production from .env.production.example with freshly generated secrets "
        "(POSTGRES_PASSWORD, REDIS_PASSWORD, JWT_SECRET, STORAGE_ENCRYPTION_KEY, LIVEKIT_API_KEY, "
        "LIVEKIT_API_SECRET), mode 0600. Refuses to overwrite an existing file without --force."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--domain", help="HAVEN_DOMAIN, e.g. chat.example.org")
        parser.add_argument("--email", help="ACME_EMAIL for Let's Encrypt")
        parser.add_argument(
            "--output",
            default=".env.production",
            help="File to write (default: .env.production), or - for standard output.",
        )
        parser.add_argument("--force", action="store_true", help="Overwrite an existing file.")

    def handle(self, *args: Any, **options: Any) -> None:
        domain, email = options["domain"], options["email"]
        if domain and not valid_domain(domain):
            raise CommandError(
                f"--domain {domain!r} is not a host name (no scheme, no port: chat.example.org)"
            )
        if email and not valid_email(email):
            raise CommandError(f"--email {email!r} is not an email address")
        if not EXAMPLE.is_file():
            raise CommandError(f"The template {EXAMPLE} is missing")
        text = render_env(EXAMPLE.read_text(), fresh_values(domain, email))

        output = options["output"]
        if output == "-":
            sys.stdout.write(text)
        else:
            path = Path(output)
            if path.exists() and not options["force"]:
                raise CommandError(
                    f"{path} already exists; it may hold the secrets your data depends on. "
                    "Use --force to overwrite it."
                )
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
            fd = os.open(path, flags, 0o600)
            os.fchmod(fd, 0o600)  # also when --force replaced a file with wider permissions
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            self.stderr.write(f"Wrote {path} (mode 0600) with new {', '.join(GENERATED)}.")
        if not domain or not email:
            self.stderr.write(
                "HAVEN_DOMAIN and ACME_EMAIL still hold placeholders: set them (--domain, --email) "
                "before you start the stack."
            )
