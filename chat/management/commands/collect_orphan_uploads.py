"""``manage.py collect_orphan_uploads``: delete uploads never sent in a message and blob files
nothing refers to any more, once older than a day (run it daily, e.g. from cron)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chat.storage import collect_orphans


class Command(BaseCommand):
    help = "Delete unsent uploads and unreferenced blobs older than a day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than-hours", type=float, default=24.0)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        result = collect_orphans(
            older_than=timedelta(hours=options["older_than_hours"]), dry_run=options["dry_run"]
        )
        verb = "would delete" if options["dry_run"] else "deleted"
        self.stdout.write(
            f"{verb} {result.unlinked_rows} unsent upload(s) and {result.files} stray file(s)"
        )
