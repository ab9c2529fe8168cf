"""Real Haven processes (``python -m haven_site.serve`` on a loopback port) for the tests that need
a server as clients see it: the browser tests (tests/e2e), the gateway's multi-instance tests
(tests/chat/gateway/test_processes.py), the deployment tests (tests/deploy), the upload memory
test, and the fan-out benchmark (bench/).

Two kinds of environment:

* ``embedded_env(var_dir)``: the embedded default (SQLite and the in-memory channel layer in a
  var dir of its own), whatever this test run uses;
* ``live_env(database_url, redis_url)``: a cluster of processes sharing PostgreSQL (the database
  ``<name>_live``, never pytest's test database; ``prepare_database`` creates and migrates it)
  and a Redis DB eight away from the suite's own (tests.processes.live_redis_url).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
REDIS_DATABASES = 16


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (benchmarks), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free ports, below the kernel's ephemeral range (from
    32768), so that no client connection of the run takes one of them before the server binds
    it (a port from ``free_port`` is free once, not reserved)."""
    for _ in range(1000):
        first = random.randrange(20_000, 32_000 - count)
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return first
    raise RuntimeError(f"no {count} consecutive free ports")


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    """Until something listens on ``port``; fails with the log when ``process`` exits first."""
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


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15) -> int:
    """Signal a process and wait for it (killing it after ``timeout``); its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def inherited_env(drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This run's environment without pytest's variables (and names starting with ``drop``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", *drop))}


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a Haven process on the embedded default (SQLite, in-memory layer)."""
    env = inherited_env(drop=("DATABASE_URL", "REDIS_URL", "HAVEN_", "DJANGO_"))
    env.update(
        HAVEN_VAR_DIR=str(var_dir),
        POW_DIFFICULTY="0",
        RATE_LIMITS_ENABLED="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def live_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "haven"
    return urlunsplit(parts._replace(path=f"/{name}_live"))


def live_redis_url(base: str) -> str:
    """The Redis DB of live processes: half-way round from the suite's own (0 -> 8, 5 -> 13),
    so that runs on different DBs (CI, each engineer) do not flush each other's."""
    parts = urlsplit(base)
    own = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(own + REDIS_DATABASES // 2) % REDIS_DATABASES}"))


def live_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of the processes of one cluster (shared PostgreSQL and Redis)."""
    env = inherited_env(drop=("DJANGO_SETTINGS",))
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        POW_DIFFICULTY="0",
        RATE_LIMITS_ENABLED="false",
        JWT_SECRET="live-test-secret-0123456789abcdef0123456789abcdef",
        STORAGE_ENCRYPTION_KEY="ab" * 32,
        HAVEN_VAR_DIR=tempfile.mkdtemp(prefix="haven-live-"),
        MAX_WS_CONNECTIONS_PER_USER="50",
        DJANGO_SETTINGS_MODULE="haven_site.settings",
        HAVEN_WORKERS="1",  # one process per instance unless a test asks for more
    )
    env.update(extra)
    return env


def manage(
    *args: str, env: Mapping[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in the given environment, its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=check,
        timeout=120,
    )


def prepare_database(env: Mapping[str, str]) -> None:
    """Create the cluster's database if needed, migrate it, and empty its Redis DB."""
    import psycopg
    import redis

    parts = urlsplit(env["DATABASE_URL"])
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", "-v", "0", env=env)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


class HavenProcess:
    """One Daphne process serving Haven.

    ``base`` is the environment to start from (default: this test run's, without pytest's
    variables); ``env`` changes it (a value of None removes the variable). The log goes to
    ``<var_dir>/<name>-<port>.log``. ``HAVEN_PROFILE_DIR=dir`` runs the process under cProfile
    (benchmark analysis); ``wrapper`` is a command to run it under (bench/server_instructions.py
    runs it under valgrind)."""

    def __init__(
        self,
        var_dir: Path,
        env: Mapping[str, str | None] | None = None,
        application: str | None = None,
        *,
        name: str = "server",
        base: Mapping[str, str] | None = None,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.var_dir = var_dir
        self.wrapper = list(wrapper)
        self.name = name
        self.application = application  # an ASGI "module:attribute" instead of Haven's default
        self.port = free_port()
        self.env = dict(inherited_env() if base is None else base)
        self.env.update({"HAVEN_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"})
        for key, value in (env or {}).items():
            if value is None:
                self.env.pop(key, None)
            else:
                self.env[key] = value
        self.process: subprocess.Popen[bytes] | None = None
        self.log = var_dir / f"{name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws?token={token}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def manage(self, *args: str) -> None:
        manage(*args, env=self.env)

    def _profile(self) -> list[str]:
        folder = os.environ.get("HAVEN_PROFILE_DIR")
        return ["-m", "cProfile", "-o", f"{folder}/{self.name}.prof"] if folder else []

    def start(self, timeout: float = 30.0) -> Self:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.wrapper, sys.executable, *self._profile(), "-m", "haven_site.serve",
                 "-b", "127.0.0.1", "-p", str(self.port),
                 *([self.application] if self.application else [])],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.kill()  # a server that never answered must not outlive the run that started it
        raise RuntimeError(f"{self.name} did not start:\n{self.log_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        """Stop the process (SIGTERM: a graceful stop); its exit code, None if never started."""
        if self.process is None:
            return None
        return stop(self.process, sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    # --- as a client --------------------------------------------------------------------------

    def rest(self, method: str, path: str, token: str, body: Any = None) -> Any:
        """One REST call as a user; the JSON answer (the status must be 200)."""
        response = httpx.request(
            method,
            f"{self.url}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def register(self, username: str, client_address: str | None = None) -> dict[str, Any]:
        """A new account (proof of work off); its ``id`` and access ``token``.
        ``client_address``: the address a trusted proxy (this host) reports for the client, for
        more sign-ups than the auth limit allows one address (a header: nothing connects to it)."""
        from tests.helpers import PASSWORD, key_material

        body = {"username": username, "password": PASSWORD, **key_material(username)}
        headers = {"X-Forwarded-For": client_address} if client_address else {}
        response = httpx.post(
            f"{self.url}/api/v1/auth/register", json=body, headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return {"id": data["user"]["id"], "token": data["access_token"], "username": username}

    def login(self, username: str) -> str:
        """Sign in again (a new login session); its access token."""
        from tests.helpers import PASSWORD

        body = {"username": username, "password": PASSWORD}
        response = httpx.post(f"{self.url}/api/v1/auth/login", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


def live_process(env: Mapping[str, str], name: str) -> HavenProcess:
    """One process of a live cluster (``live_env``): it logs into the cluster's var dir."""
    return HavenProcess(Path(env["HAVEN_VAR_DIR"]), env, name=name)
