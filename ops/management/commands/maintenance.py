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
            for name, removed in run_due().items():
                self.stdout.write(f"{name}: {removed} removed")
            if not loop or stopping:
                return
            close_old_connections()  # between passes: a long-lived worker must not keep stale ones
            for _ in range(TICK_SECONDS * 10):
                if stopping:
                    return
                time.sleep(0.1)
