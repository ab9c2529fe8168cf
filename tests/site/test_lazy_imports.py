"""A server process at rest imports only what serving needs (docs/performance.md, memory).

The LiveKit SDK (with protobuf and aiohttp), httpx, Pillow and django.test (through
simplejwt's settings) cost some 40 MB per process together; they are imported on first use."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.processes import ROOT, inherited_env

HEAVY = [
    "livekit",
    "aiohttp",
    "google.protobuf",
    "httpx",
    "PIL",
    "django.test",
    "rest_framework_simplejwt",
]

PROBE = f"""
import json, sys
import haven_site.serve  # Daphne and Haven's additions, as the server process imports them
import haven_site.asgi
from django.urls import get_resolver
get_resolver().resolve("/api/v1/servers")
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def test_a_process_at_rest_does_not_import_the_heavy_optional_parts(tmp_path: object) -> None:
    env = inherited_env(drop=("DJANGO_SETTINGS",))
    env.update(HAVEN_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="haven_site.settings")
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == []
