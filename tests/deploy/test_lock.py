"""The lock files (requirements/, README.md "Dependencies"): every package pinned, consistent with
pyproject.toml, and what make, CI and the Docker image install."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import DEPLOY
from tests.processes import ROOT

RUNTIME = ROOT / "requirements" / "runtime.txt"
DEV = ROOT / "requirements" / "dev.txt"
# haven_site.server subclasses and patches these (haven_site.server.contract).
PATCHED = ("daphne", "twisted", "autobahn")


def pins(lock: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a lock file; any line but ``name==version`` fails."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        assert match, f"{lock.name}: not an exact pin: {line!r}"
        found[canonicalize_name(match[1])] = match[2]
    return found


def project() -> dict[str, list[str]]:
    loaded: dict[str, list[str]] = {}
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    loaded["runtime"] = data["dependencies"]
    loaded["dev"] = data["optional-dependencies"]["dev"]
    return loaded


def test_the_patched_server_stack_is_pinned() -> None:
    runtime, dev = pins(RUNTIME), pins(DEV)
    for name in PATCHED:
        assert name in runtime, f"{name} is not pinned in {RUNTIME.name}"
        assert dev[name] == runtime[name]


def test_the_locks_satisfy_pyproject_and_agree() -> None:
    """A dependency added to pyproject.toml without `make lock` fails here, not in production."""
    runtime, dev = pins(RUNTIME), pins(DEV)
    declared = project()
    checks = [(runtime, declared["runtime"]), (dev, declared["runtime"] + declared["dev"])]
    for lock, requirements in checks:
        for text in requirements:
            requirement = Requirement(text)
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is in pyproject.toml but not locked: run `make lock`"
            assert requirement.specifier.contains(lock[name], prereleases=True), (
                f"{name}=={lock[name]} is outside pyproject.toml's {requirement.specifier}"
            )
    shared = {name: version for name, version in dev.items() if name in runtime}
    assert shared == runtime, "the dev lock must install the runtime lock's versions"
    assert "pip" in dev  # the Makefile pins the venv's pip from it
    assert "pip-tools" in dev


def test_this_environment_is_the_lock() -> None:
    """The tests run on exactly the locked versions (`make setup-dev` after a lock change)."""
    wrong = {}
    for name, version in pins(DEV).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed (run `make setup-dev`): {wrong}"


def _dry_run(*args: str) -> str:
    done = subprocess.run(
        ["make", "--dry-run", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("target", "lock"), [("setup", RUNTIME), ("setup-dev", DEV)])
def test_make_installs_from_the_lock(tmp_path: Path, target: str, lock: Path) -> None:
    """A fresh venv: pip from the dev lock, then the lock, then the project without its deps."""
    commands = _dry_run(f"VENV={tmp_path / 'venv'}", target)
    bin_dir = tmp_path / "venv" / "bin"
    assert f"{bin_dir}/pip install --quiet -r {lock.relative_to(ROOT)}" in commands
    assert f"{bin_dir}/pip install --quiet --no-deps -e ." in commands
    assert "grep -m1 '^pip==' requirements/dev.txt" in commands
    installs = [line for line in commands.splitlines() if "pip install" in line]
    assert all(" -r requirements/" in i or "--no-deps" in i or "^pip==" in i for i in installs)


def test_a_changed_lock_reinstalls() -> None:
    """The stamps depend on the lock files: a newer lock (a merge, `make lock`) reinstalls."""
    assert "-r requirements/dev.txt" in _dry_run("--what-if=requirements/dev.txt", "setup-dev")
    assert "-r requirements/runtime.txt" in _dry_run("--what-if=requirements/runtime.txt", "setup")


def test_ci_runs_make_test() -> None:
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)


def test_the_image_installs_the_runtime_lock() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs == ["pip install -r requirements/runtime.txt"]
    assert text.index("COPY requirements/runtime.txt") < text.index("pip install")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert not any(line.strip("/").startswith("requirements") for line in ignored)


@pytest.mark.parametrize(("package", "in_runtime"), [("daphne", True), ("ruff", False)])
def test_make_lock_upgrades_one_package(package: str, in_runtime: bool) -> None:
    """Only the locks that hold the package get --upgrade-package (pip-compile would add it)."""
    compiles = [
        line for line in _dry_run("lock", f"UPGRADE_PACKAGE={package}").splitlines()
        if "pip-compile" in line
    ]  # fmt: skip
    runtime, dev = compiles
    assert "requirements/runtime.txt" in runtime
    assert "--extra dev" in dev
    assert (f"--upgrade-package {package}" in runtime) is in_runtime
    assert f"--upgrade-package {package}" in dev
