"""Cloudflare Turnstile at registration (operations.md 2.6), against a local stand-in of the
siteverify endpoint on 127.0.0.1 that checks the request Haven sends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from accounts.models import User
from tests.helpers import PASSWORD, Api, haven_settings, key_material

pytestmark = pytest.mark.django_db
SECRET = "1x0000000000000000000000000000000AA"


class Siteverify(BaseHTTPRequestHandler):
    seen: list[dict[str, list[str]]] = []

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        Siteverify.seen.append(form)
        ok = form.get("secret") == [SECRET] and form.get("response") == ["good-token"]
        payload = json.dumps({"success": ok}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def siteverify() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Siteverify)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Siteverify.seen.clear()
    with haven_settings(
        turnstile_site_key="1x00000000000000000000AA",
        turnstile_secret_key=SECRET,
        turnstile_verify_url=f"http://127.0.0.1:{server.server_port}/siteverify",
    ):
        yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def body(**extra: object) -> dict[str, object]:
    return {"username": "alice", "password": PASSWORD, **key_material("alice"), **extra}


def test_challenge_announces_site_key(api: Api, siteverify: str) -> None:
    data = api.get("/api/v1/auth/challenge").json()
    assert data["turnstile_site_key"] == "1x00000000000000000000AA"


def test_token_required(api: Api, siteverify: str) -> None:
    response = api.post("/api/v1/auth/register", body())
    assert response.status_code == 400
    assert response.json()["error"] == "CAPTCHA token required"


def test_rejected_token(api: Api, siteverify: str) -> None:
    response = api.post("/api/v1/auth/register", body(turnstile_token="bad-token"))
    assert response.status_code == 400
    assert response.json()["error"] == "CAPTCHA verification failed — please try again"
    assert not User.objects.exists()


def test_accepted_token(api: Api, siteverify: str) -> None:
    response = api.post("/api/v1/auth/register", body(turnstile_token="good-token"))
    assert response.status_code == 200
    assert Siteverify.seen == [{"secret": [SECRET], "response": ["good-token"]}]


def test_unreachable_service_is_500(api: Api) -> None:
    with haven_settings(
        turnstile_site_key="site",
        turnstile_secret_key=SECRET,
        turnstile_verify_url="http://127.0.0.1:9/siteverify",
    ):
        response = api.post("/api/v1/auth/register", body(turnstile_token="good-token"))
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "status": 500}
