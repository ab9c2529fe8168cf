"""Nothing a user typed reaches the logs of a real server (docs/security.md, "Logs"): the access log
shows paths without their query string and without invite codes, and Django's request/error
logging (which JSON logs would print with the full request) goes through the same redaction.
Each route that carries typed text is called on a real Daphne process, in both log formats."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, key_material
from tests.processes import HavenProcess, free_port

pytestmark = pytest.mark.slow
CLOSED_PORT = free_port()  # nothing listens here: the link preview fetch fails


class _BrokenGiphy(BaseHTTPRequestHandler):
    """Every search fails upstream, so Haven answers 500 and Django logs the request."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def giphy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenGiphy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/gifs"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["json", "text"])
def haven(
    request: pytest.FixtureRequest, giphy: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HavenProcess]:
    process = HavenProcess(
        tmp_path_factory.mktemp(f"haven-logs-{request.param}"),
        {
            "DATABASE_URL": None,
            "REDIS_URL": None,
            "RATE_LIMITS_ENABLED": "false",
            "LOG_FORMAT": request.param,
            "GIPHY_API_KEY": "giphy-key",
            "GIPHY_API_URL": giphy,
            "LINK_PREVIEW_ALLOW_LOOPBACK": "true",
        },
    )
    process.manage("migrate", "--noinput")
    yield process.start()
    process.stop()


def _typed_requests(marker: str, server_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, options) for every route whose request carries text a user typed."""
    link = f"http://127.0.0.1:{CLOSED_PORT}/{marker}-page?{marker}-query=1"
    return [
        ("GET", "/api/v1/users/search", {"params": {"username": f"{marker}-user"}}),
        ("GET", "/api/v1/link-preview", {"params": {"url": link}}),
        ("GET", "/api/v1/gifs/search", {"params": {"q": f"{marker} gif words", "offset": "0"}}),
        ("GET", "/api/v1/admin/users", {"params": {"search": f"{marker}-admin"}}),
        (
            "POST",
            f"/api/v1/servers/{server_id}/emojis",
            {"params": {"name": f"{marker}_emoji"}, "content": b"not an image"},
        ),
        ("POST", f"/api/v1/invites/{marker}-invite/join", {}),
        ("GET", "/api/v1/ws", {"params": {"token": f"{marker}-token"}}),
    ]


def _wait(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "the access log never showed the requests"
        time.sleep(0.05)


def test_typed_text_never_reaches_the_log(haven: HavenProcess) -> None:
    marker = f"typed{time.monotonic_ns()}"
    with httpx.Client(base_url=haven.url, timeout=20) as client:
        body = {"username": f"logs{marker[-6:]}", "password": PASSWORD, **key_material("logs")}
        registered = client.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 200, registered.text
        client.headers["Authorization"] = f"Bearer {registered.json()['access_token']}"
        meta = base64.b64encode(b"meta").decode()
        server_id = client.post("/api/v1/servers", json={"encrypted_meta": meta}).json()["id"]
        statuses = {}
        for method, path, options in _typed_requests(marker, server_id):
            statuses[path] = client.request(method, path, **options).status_code
    assert statuses["/api/v1/gifs/search"] == 500  # so Django's request logging ran too
    assert statuses["/api/v1/admin/users"] == 200  # the first user is the admin

    paths = [path for _, path, _ in _typed_requests(marker, server_id)]
    _wait(lambda: all(p.split(marker)[0] in haven.log_text() for p in paths))
    log = haven.log_text()
    assert marker not in log
    assert "Internal Server Error: /api/v1/gifs/search" in log  # django.request, redacted
    if haven.env["LOG_FORMAT"] == "json":
        records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        logged = {r["path"] for r in records if r.get("logger") == "haven.access"}
        assert {
            "/api/v1/users/search",
            "/api/v1/link-preview",
            "/api/v1/gifs/search",
            "/api/v1/admin/users",
            f"/api/v1/servers/{server_id}/emojis",
            "/api/v1/invites/[redacted]/join",
            "/api/v1/ws",
        } <= logged
        (error,) = [r for r in records if r.get("logger") == "django.request"]
        assert error["request"] == "GET /api/v1/gifs/search"
