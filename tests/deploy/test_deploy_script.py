"""deploy/deploy.sh's control flow, against a fake ``docker`` on PATH (no Docker engine here).

The fake records every call and answers like Docker would: image inspect, tag, compose build/run/
up/ps/logs, and ``docker inspect`` with the health status the scenario dictates for the n-th
recreation of the haven container.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY

SCRIPT = DEPLOY / "deploy.sh"

FAKE_DOCKER = r"""#!/usr/bin/env bash
# A stand-in for docker: records its arguments and plays a scenario from $FAKE_STATE.
set -u
state="$FAKE_STATE"
printf '%s\n' "$*" >> "$state/calls"
args=" $* "
case "$args" in
  " compose version ") exit 0 ;;
  " image inspect "*) [ -f "$state/has_image" ] && exit 0 || exit 1 ;;
  " image prune "*) exit 0 ;;
  " tag "*) exit 0 ;;
  " inspect "*)
    n=$(cat "$state/ups" 2>/dev/null || echo 0)
    sequence="${FAKE_HEALTH:-healthy}"
    IFS=, read -r -a statuses <<< "$sequence"
    index=$(( n > 0 ? n - 1 : 0 ))
    [ "$index" -ge "${#statuses[@]}" ] && index=$(( ${#statuses[@]} - 1 ))
    status="${statuses[$index]}"
    # "starting:K" answers "starting" K times, then "healthy".
    if [ "${status%%:*}" = "starting" ]; then
      polls=$(( $(cat "$state/polls" 2>/dev/null || echo 0) + 1 ))
      echo "$polls" > "$state/polls"
      if [ "$polls" -le "${status#*:}" ]; then echo starting; else echo healthy; fi
      exit 0
    fi
    echo "$status"
    exit 0 ;;
esac
case "$args" in
  *" build haven "*)
    [ -z "${FAKE_BUILD_FAILS:-}" ] && exit 0 || { echo "build broke" >&2; exit 1; } ;;
  *" run --rm migrate "*)
    [ -z "${FAKE_MIGRATE_FAILS:-}" ] && exit 0 || { echo "migration broke" >&2; exit 1; } ;;
  *" up -d --no-deps --force-recreate haven "*)
    echo $(( $(cat "$state/ups" 2>/dev/null || echo 0) + 1 )) > "$state/ups"; exit 0 ;;
  *" up -d --no-deps --force-recreate maintenance "*) exit 0 ;;
  *" ps -q haven "*) echo "0123456789abcdef"; exit 0 ;;
  *" logs "*) echo "haven log line: boom"; exit 0 ;;
  *" ps "*) echo "NAME  STATUS"; exit 0 ;;
esac
echo "fake docker: unexpected call: $*" >&2
exit 99
"""


@dataclass
class Run:
    returncode: int
    output: str
    calls: list[str]


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    (tmp_path / "state").mkdir()
    (tmp_path / ".env.production").write_text("HAVEN_DOMAIN=chat.example.org\n")
    return tmp_path


def deploy(fake: Path, *args: str, image: bool = True, **scenario: str) -> Run:
    state = fake / "state"
    if image:
        (state / "has_image").touch()
    env = {
        "PATH": f"{fake / 'bin'}:{os.environ['PATH']}",
        "HOME": str(fake),
        "FAKE_STATE": str(state),
        "HAVEN_ENV_FILE": str(fake / ".env.production"),
        "HAVEN_HEALTH_POLL": "1",
        **scenario,
    }
    result = subprocess.run(
        ["bash", str(SCRIPT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls_file = state / "calls"
    calls = calls_file.read_text().splitlines() if calls_file.exists() else []
    return Run(result.returncode, result.stdout + result.stderr, calls)


def compose_calls(run: Run) -> list[str]:
    """The compose sub-commands, without the -f/--env-file prefix."""
    out = []
    for call in run.calls:
        if call.startswith("compose -f "):
            out.append(call.split(" ", 5)[5])
    return out


def test_successful_deploy(fake: Path) -> None:
    run = deploy(fake, FAKE_HEALTH="starting:1")
    assert run.returncode == 0, run.output
    assert compose_calls(run) == [
        "build haven",
        "run --rm migrate",
        "up -d --no-deps --force-recreate haven",
        "ps -q haven",
        "up -d --no-deps --force-recreate maintenance",
        "ps",
    ]
    assert "tag haven:latest haven:previous" in run.calls
    assert "image prune -f" in run.calls
    assert run.calls.index("tag haven:latest haven:previous") < run.calls.index(
        next(c for c in run.calls if c.endswith("build haven"))
    )
    inspect = [c for c in run.calls if c.startswith("inspect ")]
    assert len(inspect) == 2  # "starting", then "healthy"
    assert "{{.State.Health.Status}}" in inspect[0]
    assert "Deployed." in run.output
    # The Compose file of this checkout and the operator's env file are used.
    compose = (
        f"compose -f {DEPLOY / 'docker-compose.prod.yml'} --env-file {fake / '.env.production'}"
    )
    assert f"{compose} build haven" in run.calls


def test_unhealthy_deploy_rolls_back_to_the_previous_image(fake: Path) -> None:
    run = deploy(fake, FAKE_HEALTH="unhealthy,healthy")
    assert run.returncode == 1, run.output
    assert "haven log line: boom" in run.output  # the failed container's logs are shown
    assert "rolled back to the previous image" in run.output
    tags = [c for c in run.calls if c.startswith("tag ")]
    assert tags == [
        "tag haven:latest haven:previous",
        "tag haven:latest haven:failed",
        "tag haven:previous haven:latest",
    ]
    assert compose_calls(run).count("up -d --no-deps --force-recreate haven") == 2
    assert "image prune -f" not in run.calls


def test_rollback_that_stays_unhealthy_exits_2(fake: Path) -> None:
    run = deploy(fake, FAKE_HEALTH="unhealthy,unhealthy")
    assert run.returncode == 2, run.output
    assert "Haven is DOWN" in run.output


def test_timeout_without_a_health_verdict_rolls_back(fake: Path) -> None:
    run = deploy(fake, "--timeout", "1", FAKE_HEALTH="starting:99,healthy")
    assert run.returncode == 1, run.output
    assert "after 1s" in run.output
    assert "tag haven:previous haven:latest" in run.calls


def test_first_deploy_has_nothing_to_roll_back_to(fake: Path) -> None:
    run = deploy(fake, image=False, FAKE_HEALTH="unhealthy")
    assert run.returncode == 1, run.output
    assert "no previous image to roll back to" in run.output
    assert not any(c.startswith("tag ") for c in run.calls)


def test_failed_migration_leaves_the_running_container_alone(fake: Path) -> None:
    run = deploy(fake, FAKE_MIGRATE_FAILS="1")
    assert run.returncode == 1, run.output
    assert "migrations failed" in run.output
    assert not any("up -d" in c for c in run.calls)
    assert "tag haven:previous haven:latest" in run.calls  # the tag points at what runs


def test_failed_build_stops_before_anything_changes(fake: Path) -> None:
    run = deploy(fake, FAKE_BUILD_FAILS="1")
    assert run.returncode == 1, run.output
    assert "build failed" in run.output
    assert not any("migrate" in c or "up -d" in c for c in run.calls)


def test_missing_env_file_is_explained(fake: Path) -> None:
    (fake / ".env.production").unlink()
    run = deploy(fake)
    assert run.returncode == 1
    assert "cp .env.production.example .env.production" in run.output
    assert not any("build" in c for c in run.calls)


def test_help_and_bad_arguments(fake: Path) -> None:
    helped = deploy(fake, "--help")
    assert helped.returncode == 0
    assert "Usage: deploy/deploy.sh" in helped.output
    assert helped.calls == []
    bad = deploy(fake, "--frobnicate")
    assert bad.returncode == 1
    assert "unknown argument: --frobnicate" in bad.output
    assert deploy(fake, "--timeout", "soon").returncode == 1


def test_shellcheck_is_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt install shellcheck)")
    result = subprocess.run(
        [shellcheck, "--severity=style", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    assert os.access(SCRIPT, os.X_OK), "deploy.sh must be executable"
