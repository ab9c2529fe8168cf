"""The operator documentation stays in step with the code and the stack files."""

from __future__ import annotations

import re

from haven_site.config import WS_RATE_LIMIT_DEFAULTS
from tests.processes import ROOT

CONFIG = (ROOT / "haven_site" / "config.py").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()


def test_every_setting_is_documented() -> None:
    names = set(re.findall(r'reader\.(?:text|flag|number|items|raw)\(\s*"([A-Z0-9_]+)"', CONFIG))
    names |= {f"WS_RATE_LIMIT_{op.upper()}" for op in WS_RATE_LIMIT_DEFAULTS}  # built in a loop
    assert len(names) > 30
    missing = sorted(n for n in names if f"`{n}`" not in CONFIGURATION)
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_deployment_guide_uses_our_paths_and_both_backup_lines() -> None:
    assert (
        "docker compose -f deploy/docker-compose.prod.yml --env-file .env.production up -d"
        in DEPLOYMENT
    )
    assert "deploy/deploy.sh" in DEPLOYMENT
    assert "exec -T postgres pg_dump -U haven haven | gzip" in DEPLOYMENT
    assert "exec -T haven python manage.py backup --output -" in DEPLOYMENT
    for must_keep in ("STORAGE_ENCRYPTION_KEY", "JWT_SECRET", "haven_haven_data"):
        assert must_keep in DEPLOYMENT
    # The Compose file lives under deploy/: no root-level compose path anywhere.
    assert "/opt/haven/docker-compose.prod.yml" not in DEPLOYMENT
    assert "-f docker-compose.prod.yml" not in DEPLOYMENT
