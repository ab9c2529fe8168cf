"""Browser tests: Debian's Chromium driven by Playwright (no browser download), against a real
Haven process on the embedded default in a temporary directory."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import HavenProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def backends() -> dict[str, str | None]:
    """The embedded default (SQLite, in-memory layer) unless HAVEN_E2E_DATABASE_URL /
    HAVEN_E2E_REDIS_URL name an empty PostgreSQL database and a Redis DB for one test file."""
    return {
        "DATABASE_URL": os.environ.get("HAVEN_E2E_DATABASE_URL"),
        "REDIS_URL": os.environ.get("HAVEN_E2E_REDIS_URL"),
    }


@pytest.fixture(scope="module")
def haven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    server = HavenProcess(
        tmp_path_factory.mktemp("haven-e2e"),
        {
            **backends(),
            "REGISTRATION_INVITE_ONLY": "true",
            "POW_DIFFICULTY": "8",
            "RATE_LIMITS_ENABLED": "false",
        },
    )
    server.manage("migrate", "--noinput")
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
