"""Processes for the deployment tests: a real Daphne (``python -m haven_site.serve``) on loopback
with its own SQLite var dir, and helpers to find ports and wait for them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open in {timeout}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Haven process on the embedded default (SQLite, in-memory layer)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "HAVEN_", "PYTEST", "DJANGO_"))
    }
    env.update(
        HAVEN_VAR_DIR=str(var_dir),
        POW_DIFFICULTY="0",
        RATE_LIMITS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


@dataclass
class Daphne:
    port: int
    metrics_port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="package")
def daphne(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daphne]:
    """A real Daphne on loopback, JSON logs, client IPs logged, metrics exporter on."""
    var_dir = tmp_path_factory.mktemp("daphne-var")
    env = embedded_env(
        var_dir,
        LOG_FORMAT="json",
        LOG_CLIENT_IPS="true",
        METRICS_PORT=str(free_port()),
        METRICS_BIND="127.0.0.1",
    )
    manage("migrate", "--noinput", "-v", "0", env=env)
    # As the image does: static files collected (and compressed) before the server starts.
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    port = free_port()
    log = var_dir / "daphne.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "haven_site.serve", "-b", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).raise_for_status()
        yield Daphne(port, int(env["METRICS_PORT"]), log, process)
    finally:
        stop(process)
