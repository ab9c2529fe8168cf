"""``python manage.py backup``: database + media + manifest in one archive (docs/operations.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write one .tar.gz with the database (pg_dump -Fc, or SQLite's online backup), the media "
        "files of STORAGE_DIR and a manifest, then delete archives older than --keep-days. "
        "'--output -' writes the archive to standard output (for docker compose exec -T)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            default=None,
            help="Directory for the archive (default: HAVEN_VAR_DIR/backups), or - for stdout.",
        )
        parser.add_argument(
            "--keep-days",
            type=int,
            default=14,
            help="Delete Haven archives in the output directory older than this (0 keeps all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = int(options["verbosity"])

        def progress(message: str) -> None:
            if verbosity >= 1:
                self.stderr.write(message)
                self.stderr.flush()

        if options["keep_days"] < 0:
            raise CommandError("--keep-days must be 0 or more")
        try:
            if options["output"] == "-":
                if sys.stdout.isatty():
                    raise CommandError("Refusing to write a binary archive to a terminal")
                create_backup(stream=sys.stdout.buffer, progress=progress)
                sys.stdout.buffer.flush()
                return
            output = Path(options["output"] or Path(settings.HAVEN.var_dir) / "backups")
            create_backup(output_dir=output, keep_days=options["keep_days"], progress=progress)
        except BackupError as error:
            raise CommandError(str(error)) from None
