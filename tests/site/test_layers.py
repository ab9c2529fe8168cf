"""The apps' layer order (docs/decisions.md, "Layers between apps") holds, and the check that
``make lint`` runs (``lint-imports``, [tool.importlinter] in pyproject.toml) really fails on an
import that goes up a layer."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.processes import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter not installed")


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / "pyproject.toml")],
        cwd=where,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_code_keeps_its_layers() -> None:
    done = lint_imports(Path(ROOT))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout


def app_packages() -> list[str]:
    with (Path(ROOT) / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file)
    packages: list[str] = config["tool"]["importlinter"]["root_packages"]
    return packages


def copy_of_the_code(tmp_path: Path) -> Path:
    for package in app_packages():
        shutil.copytree(
            Path(ROOT) / package,
            tmp_path / package,
            ignore=shutil.ignore_patterns("__pycache__", "migrations", "*.pyc"),
        )
    shutil.copy(Path(ROOT) / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_import_up_the_layers_fails_the_lint(tmp_path: Path) -> None:
    code = copy_of_the_code(tmp_path)
    (code / "accounts" / "shortcut.py").write_text(
        '"""A lazy import that dodges a cycle: what the layers forbid."""\n\n\n'
        "def servers_of(user_id: object) -> object:\n"
        "    from chat.models import Server\n\n"
        "    return Server.objects.filter(owner_id=user_id)\n"
    )
    done = lint_imports(code)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "BROKEN" in done.stdout
    assert "accounts.shortcut -> chat.models" in done.stdout


def test_a_cycle_between_events_and_bus_fails_the_lint(tmp_path: Path) -> None:
    code = copy_of_the_code(tmp_path)
    with (code / "realtime" / "bus.py").open("a") as bus:
        bus.write("\n\ndef _publish_again() -> None:\n    from realtime import events  # noqa\n")
    done = lint_imports(code)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "realtime.bus -> realtime.events" in done.stdout


MAX_LINES = 400


@pytest.mark.parametrize("folder", ["chat/gateway", "realtime"])
def test_gateway_modules_are_short(folder: str) -> None:
    """The gateway's modules each have one job (issue 15): none is over 400 lines."""
    long = {
        path.name: n
        for path in sorted((Path(ROOT) / folder).glob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_a_domain_app_importing_the_servers_libraries_fails_the_lint(tmp_path: Path) -> None:
    """Autobahn, Twisted and Daphne are reached through haven_site.server only."""
    code = copy_of_the_code(tmp_path)
    with (code / "chat" / "gateway" / "inbound.py").open("a") as module:
        module.write("\n\nfrom autobahn.websocket.protocol import PreparedMessage  # noqa\n")
    done = lint_imports(code)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "chat.gateway.inbound -> autobahn" in done.stdout
