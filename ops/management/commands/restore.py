"""``python manage.py restore ARCHIVE``: into an empty database and media directory only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import (
    BackupError,
    describe_database,
    plan_restore,
    restore_backup,
    spooled_stdin,
)


class Command(BaseCommand):
    help = (
        "Restore a Haven backup archive into an EMPTY database (never migrated) and an empty "
        "STORAGE_DIR. Refuses archives made by a newer Haven. '-' reads the archive from "
        "standard input (then --yes is required)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="Path of the .tar.gz made by 'backup', or -.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["archive"] == "-":
            if not options["yes"]:
                raise CommandError("Reading the archive from standard input needs --yes")
            with spooled_stdin(sys.stdin.buffer) as path:
                self._restore(path, options)
            return
        path = Path(options["archive"])
        if not path.is_file():
            raise CommandError(f"No such archive: {path}")
        self._restore(path, options)

    def _restore(self, archive: Path, options: dict[str, Any]) -> None:
        verbosity = int(options["verbosity"])

        def progress(message: str) -> None:
            if verbosity >= 1:
                self.stdout.write(message)
                self.stdout.flush()

        try:
            plan = plan_restore(archive)
            progress(plan.summary())
            if not options["yes"]:
                try:
                    answer = input(
                        f"Restore it into the {describe_database()} and the media directory? "
                        "Type 'yes' to continue: "
                    )
                except (EOFError, KeyboardInterrupt):  # no terminal (cron, exec -T), or Ctrl-C
                    answer = ""
                if answer.strip().lower() != "yes":
                    raise CommandError("Restore cancelled; nothing was changed.")
            counts = restore_backup(plan, progress=progress)
        except BackupError as error:
            raise CommandError(str(error)) from None
        progress(f"Restored the database and {counts['media_files']} media file(s).")
        if plan.pending_migrations:
            progress(
                f"The archive predates {len(plan.pending_migrations)} migration(s) of this "
                "Haven; applying them now."
            )
            call_command("migrate", interactive=False, verbosity=verbosity)
        progress(
            "Done. Haven needs the same STORAGE_ENCRYPTION_KEY and JWT_SECRET as the instance "
            "that made the archive: without them the media cannot be read and every login fails."
        )
