"""Real Daphne processes (``python -m haven_site.serve``) on loopback for process-level tests and
the benchmark: shared PostgreSQL database ``<DATABASE_URL db>_live`` and Redis DB 15."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[3]
LIVE_REDIS_DB = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def live_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "haven"
    return urlunsplit(parts._replace(path=f"/{name}_live"))


def live_redis_url(base: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{LIVE_REDIS_DB}"))


def live_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
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
    )
    env.update(extra)
    return env


def prepare_database(env: dict[str, str]) -> None:
    """Create the shared database if needed and migrate it (never pytest's test database)."""
    import psycopg

    parts = urlsplit(env["DATABASE_URL"])
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()


def manage(env: dict[str, str], *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


class Server:
    """One Daphne process of the cluster."""

    def __init__(self, env: dict[str, str], name: str) -> None:
        self.env = env
        self.name = name
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(env["HAVEN_VAR_DIR"]) / f"{name}-{self.port}.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/ws?token={token}"

    def profile(self) -> list[str]:
        """``HAVEN_PROFILE_DIR=dir``: run the server under cProfile (benchmark analysis)."""
        folder = os.environ.get("HAVEN_PROFILE_DIR")
        return ["-m", "cProfile", "-o", f"{folder}/{self.name}.prof"] if folder else []

    def bind(self) -> list[str]:
        return ["-b", "127.0.0.1", "-p", str(self.port)]

    def start(self) -> Server:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *self.profile(), "-m", "haven_site.serve", *self.bind()],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.http}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def rest(self, method: str, path: str, token: str, body: Any = None) -> Any:
        """One REST call as a user; the JSON answer (the status must be 200)."""
        response = httpx.request(
            method,
            f"{self.http}/api/v1{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def register(self, username: str) -> dict[str, Any]:
        from tests.helpers import key_material

        body = {"username": username, "password": "correct horse battery staple"}
        body.update(key_material(username))
        response = httpx.post(f"{self.http}/api/v1/auth/register", json=body, timeout=10)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return {"id": data["user"]["id"], "token": data["access_token"]}
