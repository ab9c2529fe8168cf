"""``manage.py maintenance [--loop]``: periodic housekeeping (ops.maintenance)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from ops.maintenance import run_due

TICK_SECONDS = 15


class Command(BaseCommand):
    help = "Purge expired messages, sessions, invites and old audit entries; --loop keeps going."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="run until stopped (SIGTERM)")

    def handle(self, *args: Any, loop: bool, **options: Any) -> None:
        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        while True:
            close_old_connections()
            for name, removed in run_due().items():
                self.stdout.write(f"{name}: {removed} removed")
            if not loop or stopping:
                return
            for _ in range(TICK_SECONDS * 10):
                if stopping:
                    return
                time.sleep(0.1)
