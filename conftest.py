"""Test-run environment, set before Django reads its settings.

The suite runs on the embedded default (SQLite, in-memory layer) unless DATABASE_URL / REDIS_URL
are set, as CI does. Proof of work is off and rate limits are lifted except in the tests that
switch them back on (``tests.helpers.haven_settings``).
"""

import os
import tempfile

os.environ.setdefault("HAVEN_VAR_DIR", tempfile.mkdtemp(prefix="haven-test-var-"))
os.environ.setdefault("POW_DIFFICULTY", "0")
os.environ.setdefault("RATE_LIMITS_ENABLED", "false")
os.environ.pop("HAVEN_DOMAIN", None)
