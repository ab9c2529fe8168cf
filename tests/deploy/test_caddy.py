"""The real Caddy (Debian's /usr/bin/caddy) running deploy/Caddyfile itself, in front of a real
Daphne: the test only sets the environment the file reads (an http:// site address on loopback,
loopback upstreams, no admin endpoint), so routes and headers are exactly production's."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from haven_site.middleware import CONTENT_SECURITY_POLICY
from tests.deploy.conftest import DEPLOY, Daphne
from tests.helpers import PASSWORD, eventually, key_material
from tests.processes import free_port, stop, wait_for_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("caddy") is None, reason="caddy is not installed (apt install caddy)"
    ),
]

CADDYFILE = DEPLOY / "Caddyfile"
HSTS = "max-age=63072000; includeSubDomains; preload"


class LiveKitStandIn(BaseHTTPRequestHandler):
    """Answers every request with the path it received, so the test sees what Caddy forwarded."""

    def do_GET(self) -> None:
        body = json.dumps({"livekit_saw": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@dataclass
class Proxy:
    port: int
    daphne: Daphne

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def caddy_env(tmp: Path, site: str, upstream: str, livekit: str) -> dict[str, str]:
    return {
        **os.environ,
        "HAVEN_DOMAIN": site,
        "ACME_EMAIL": "operator@example.org",
        "CADDY_ADMIN": "off",
        "HAVEN_UPSTREAM": upstream,
        "LIVEKIT_UPSTREAM": livekit,
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
    }


@pytest.fixture(scope="module")
def proxy(daphne: Daphne, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    tmp = tmp_path_factory.mktemp("caddy")
    livekit = ThreadingHTTPServer(("127.0.0.1", 0), LiveKitStandIn)
    threading.Thread(target=livekit.serve_forever, daemon=True).start()
    port = free_port()
    env = caddy_env(
        tmp,
        site=f"http://127.0.0.1:{port}",
        upstream=f"127.0.0.1:{daphne.port}",
        livekit=f"127.0.0.1:{livekit.server_address[1]}",
    )
    log = tmp / "caddy.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process, log)
        yield Proxy(port, daphne)
    finally:
        stop(process)
        livekit.shutdown()


def assert_security_headers(headers: httpx.Headers) -> None:
    assert headers.get_list("strict-transport-security") == [HSTS]
    # Caddy's CSP is the app's CSP: one header, the same value (the browser client works under it).
    assert headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]
    assert headers.get_list("x-content-type-options") == ["nosniff"]
    assert headers.get_list("referrer-policy") == ["strict-origin-when-cross-origin"]
    assert "microphone=(self)" in headers["permissions-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert "server" not in headers


def test_caddy_validates_the_production_file(tmp_path: Path) -> None:
    # The production site address and admin endpoint; the upstreams stay on loopback only so that
    # validating starts no health check (and no DNS lookup) for the Docker service names.
    env = caddy_env(tmp_path, "chat.example.org", "127.0.0.1:9", "127.0.0.1:9")
    del env["CADDY_ADMIN"]
    result = subprocess.run(
        ["caddy", "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddyfile_is_formatted(tmp_path: Path) -> None:
    result = subprocess.run(
        ["caddy", "fmt", str(CADDYFILE)], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout == CADDYFILE.read_text(), "run: caddy fmt --overwrite deploy/Caddyfile"


def test_rest_api_through_caddy(proxy: Proxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=20) as client:
        invite = client.get("/api/v1/auth/invite-required")
        assert invite.status_code == 200
        assert invite.json() == {"invite_required": False}
        assert_security_headers(invite.headers)

        body = {"username": "caddyuser", "password": PASSWORD, **key_material("caddyuser")}
        registered = client.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 200, registered.text
        login = client.post(
            "/api/v1/auth/login", json={"username": "caddyuser", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = client.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text

        unknown = client.get("/api/v1/no-such-route")
        assert unknown.status_code == 404
        assert unknown.json()["status"] == 404


def test_health_and_client_page_through_caddy(proxy: Proxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=20) as client:
        health = client.get("/health")
        assert health.status_code == 200
        assert health.text == "ok"
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<title>Haven</title>" in page.text
        assert_security_headers(page.headers)
        deep_link = client.get("/channels/some/thing")  # the client's own routes
        assert deep_link.status_code == 200


def raw_get(proxy: Proxy, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """A GET whose body is not decoded, to see the Content-Encoding Caddy chose."""
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=20)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_static_files_through_caddy_compressed(proxy: Proxy) -> None:
    path = "/static/admin/css/base.css"
    status, headers, plain = raw_get(proxy, path, {"Accept-Encoding": "identity"})
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert "content-encoding" not in headers
    assert b"body" in plain

    # zstd: whitenoise has no zstd copy, so this is Caddy's "encode" compressing a text response.
    status, headers, body = raw_get(proxy, path, {"Accept-Encoding": "zstd"})
    assert status == 200
    assert headers.get("content-encoding") == "zstd"
    assert len(body) < len(plain)

    status, headers, body = raw_get(proxy, path, {"Accept-Encoding": "gzip"})
    assert headers.get("content-encoding") == "gzip"
    import gzip

    assert gzip.decompress(body) == plain


def test_api_json_is_compressed(proxy: Proxy) -> None:
    body = {"username": "zipper", "password": PASSWORD, **key_material("zipper")}
    response = httpx.post(
        f"{proxy.url}/api/v1/auth/register",
        json=body,
        headers={"Accept-Encoding": "gzip"},
        timeout=20,
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["user"]["username"] == "zipper"  # httpx decoded it


def test_websocket_upgrade_is_proxied_to_daphne_uncompressed(proxy: Proxy) -> None:
    request = (
        "GET /api/v1/ws?token=caddy-ws-secret-token HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{proxy.port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Accept-Encoding: gzip, zstd\r\n"
        "\r\n"
    )
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=20) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status = int(head.split()[1])
    # Until the gateway is merged Daphne has no route for it (500, "No route found"); with it, a
    # bad token gets the spec's denial (401). Either way Daphne answered: Caddy's own answer to an
    # unreachable upstream would be 502, and Daphne's access log shows the handshake.
    assert status not in {502, 503, 504}, head
    assert "content-encoding" not in head.lower()
    log = proxy.daphne.log_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    ws = [r for r in records if r.get("logger") == "haven.access" and r.get("event")]
    assert any(r["path"] == "/api/v1/ws" and r["event"] == "WSCONNECTING" for r in ws), log
    assert "caddy-ws-secret-token" not in log


def _metric(daphne: Daphne, line_start: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{daphne.metrics_port}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{line_start} not exported")


async def test_websocket_round_trip_through_caddy(proxy: Proxy) -> None:
    """Hello, Subscribe, SendMessage, MessageAck, NewMessage through the production Caddyfile
    (wss in production; the test's http:// site address makes it ws://), and the gateway's
    metrics on the real Daphne's exporter."""
    import asyncio
    import base64

    import websockets

    async with httpx.AsyncClient(base_url=f"{proxy.url}/api/v1", timeout=20) as client:
        body = {"username": "wsviacaddy", "password": PASSWORD, **key_material("wsviacaddy")}
        registered = await client.post("/auth/register", json=body)
        assert registered.status_code == 200, registered.text
        token = registered.json()["access_token"]
        server = await client.post(
            "/servers",
            json={"encrypted_meta": base64.b64encode(b"meta").decode()},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert server.status_code == 200, server.text
        channel = server.json()["system_channel_id"]

    sockets_before = _metric(proxy.daphne, "haven_ws_open_sockets")
    frames_before = _metric(proxy.daphne, "haven_ws_events_delivered_total")
    url = f"ws://127.0.0.1:{proxy.port}/api/v1/ws?token={token}"
    async with websockets.connect(url, compression=None) as ws:

        async def recv() -> dict[str, object]:
            frame: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return frame

        hello = await recv()
        assert hello["type"] == "Hello", hello
        await ws.send(json.dumps({"type": "Subscribe", "payload": {"channel_id": channel}}))
        assert await recv() == {"type": "Subscribed", "payload": {"channel_id": channel}}
        sealed = base64.b64encode(b"ciphertext through caddy").decode()
        send = {"channel_id": channel, "sender_token": "dG9rZW4=", "encrypted_body": sealed}
        await ws.send(json.dumps({"type": "SendMessage", "payload": send}))
        ack = await recv()
        assert ack["type"] == "MessageAck", ack
        echo = await recv()
        assert echo["type"] == "NewMessage", echo
        payload = echo["payload"]
        assert isinstance(payload, dict)
        assert isinstance(ack["payload"], dict)
        assert payload["id"] == ack["payload"]["message_id"]
        assert payload["encrypted_body"] == sealed
        assert payload["channel_id"] == channel
        await ws.send(json.dumps({"type": "Ping"}))
        assert await recv() == {"type": "Pong"}
        assert _metric(proxy.daphne, "haven_ws_open_sockets") == sockets_before + 1
        # Hello, Subscribed, MessageAck, NewMessage, Pong (own presence is not echoed back).
        assert _metric(proxy.daphne, "haven_ws_events_delivered_total") == frames_before + 5
    await eventually(lambda: _metric(proxy.daphne, "haven_ws_open_sockets") == sockets_before)
    assert token not in proxy.daphne.log_text()


def test_access_log_leaves_out_query_strings(proxy: Proxy) -> None:
    httpx.get(f"{proxy.url}/api/v1/auth/invite-required?token=query-secret-1", timeout=20)
    log = proxy.daphne.log_text()
    assert "query-secret-1" not in log
    assert '"path": "/api/v1/auth/invite-required"' in log  # paths are logged without queries


def test_livekit_prefix_is_stripped(proxy: Proxy) -> None:
    response = httpx.get(f"{proxy.url}/livekit/rtc/validate?access_token=x", timeout=20)
    assert response.status_code == 200
    assert response.json() == {"livekit_saw": "/rtc/validate?access_token=x"}
    assert_security_headers(response.headers)


def test_forwarded_client_address_cannot_be_spoofed(proxy: Proxy) -> None:
    """Caddy replaces a client's own X-Forwarded-For; Daphne logs the address Caddy saw."""
    marker = "/api/v1/auth/invite-required"  # logged without its query string
    response = httpx.get(
        f"{proxy.url}{marker}?spoof-check=1",
        headers={"X-Forwarded-For": "203.0.113.66"},
        timeout=20,
    )
    assert response.status_code == 200
    records = [
        json.loads(line) for line in proxy.daphne.log_text().splitlines() if line.startswith("{")
    ]
    access = [r for r in records if r.get("logger") == "haven.access" and r.get("path") == marker]
    assert access, "no access-log record for the request"
    assert access[-1]["client"] == "127.0.0.1"
    assert access[-1]["status"] == 200
    assert access[-1]["method"] == "GET"
