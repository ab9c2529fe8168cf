"""The restore recipe of docs/deployment.md against the Compose stack's services."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.processes import ROOT, embedded_env, manage

DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()
COMPOSE = (ROOT / "deploy" / "docker-compose.prod.yml").read_text()


def stopped_services() -> list[str]:
    restoring = DEPLOYMENT.split("### Restoring", 1)[1]
    match = re.search(r"\$C stop ([^\n]+)", restoring)
    assert match
    return match.group(1).split()


@pytest.mark.postgres
def test_documented_restore_can_drop_the_database_while_maintenance_runs(tmp_path: Path) -> None:
    """docs/deployment.md "Restoring" stops the stack's services before `dropdb`, the
    `maintenance` service included: its psycopg pool (min_size 1) keeps a connection open, and
    `dropdb` would fail with 'database ... is being accessed by other users'."""
    assert "maintenance:" in COMPOSE
    assert 'manage.py", "maintenance"' in COMPOSE
    if "maintenance" in stopped_services():
        return
    base = urlsplit(os.environ["DATABASE_URL"])
    name = f"{base.path.lstrip('/')}_recipe"
    url = urlunsplit(base._replace(path=f"/{name}"))
    admin = ["-h", base.hostname or "127.0.0.1", "-U", base.username or "postgres"]
    subprocess.run(["dropdb", *admin, "--if-exists", "--force", name], check=True)
    subprocess.run(["createdb", *admin, name], check=True)
    env = embedded_env(tmp_path / "var", DATABASE_URL=url)
    manage("migrate", "--noinput", "-v", "0", env=env)
    log = (tmp_path / "maintenance.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "maintenance", "--loop"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        time.sleep(6)  # the first pass has run
        assert process.poll() is None, (tmp_path / "maintenance.log").read_text()
        dropped = subprocess.run(["dropdb", *admin, name], capture_output=True, text=True)
        assert dropped.returncode == 0, (
            f"documented recipe stops only {stopped_services()}; dropdb: {dropped.stderr}"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        subprocess.run(["dropdb", *admin, "--if-exists", "--force", name], check=False)


def test_documented_docker_backup_cron_line_keeps_the_archive_private(tmp_path: Path) -> None:
    """docs/deployment.md's cron line `... backup --output - > ~/backups/haven-full-DATE.tar.gz`
    creates the archive with the shell's umask (0644 under cron's default 022), although it
    holds password hashes, TOTP secrets, sessions and key bundles; the non-Docker path promises
    mode 0600 and generate_secrets' line uses `(umask 077; ...)`. Run the documented redirection
    as cron would and check the mode."""
    line = next(ln for ln in DEPLOYMENT.splitlines() if "manage.py backup --output - >" in ln)
    command = line.split(" ", 5)[5]  # drop the five cron time fields
    command = (
        command.replace("~/backups", str(tmp_path))
        .replace(
            "docker compose -f /opt/haven/deploy/docker-compose.prod.yml --env-file "
            "/opt/haven/.env.production exec -T haven python manage.py backup --output -",
            "printf archive",
        )
        .replace("\\%", "%")
    )
    subprocess.run(["sh", "-c", f"umask 022; {command}"], check=True)
    (archive,) = tmp_path.glob("haven-full-*.tar.gz")
    assert oct(archive.stat().st_mode & 0o777) == oct(0o600)
