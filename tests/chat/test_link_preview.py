"""Link previews (api.md 2.22) and the SSRF guard behind them (haven_site.safefetch).

Forbidden targets are fed through a stubbed resolver, and every test watches the socket layer:
a refused URL must be refused before any connection is opened. The only real fetches go to a
local HTTP server on 127.0.0.1, with the guard's loopback exception enabled for that test alone.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from chat.actions import link_preview
from haven_site import safefetch
from tests.helpers import Api, haven_settings

PAGE = b"""<!doctype html><html><head>
<title>Fallback title</title>
<meta property="og:title" content="Haven &amp; friends">
<meta property="og:description" content="Encrypted chat">
<meta property="og:image" content="https://cdn.example/haven.png">
<meta property="og:site_name" content="Haven">
</head><body>hello</body></html>"""
PLAIN = b"""<html><head><title> Just a title </title>
<meta name="description" content="A description"></head></html>"""


class _Handler(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    hosts: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client gave up (time-limit test)
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        type(self).hits[path] = type(self).hits.get(path, 0) + 1
        type(self).hosts.append(self.headers.get("Host", ""))
        if path == "/page":
            self._send(200, PAGE, "text/html; charset=utf-8")
        elif path == "/plain":
            self._send(200, PLAIN)
        elif path == "/latin1":
            body = "<title>Caf\u00e9</title>".encode("latin-1")
            self._send(200, body, "text/html; charset=iso-8859-1")
        elif path == "/json":
            self._send(200, b'{"og:title": "no"}', "application/json")
        elif path == "/huge":
            filler = b"<!-- " + b"x" * (600 * 1024) + b" -->"
            self._send(200, b"<html><head>" + filler + b'<meta property="og:title" content="late">')
        elif path == "/to-page":
            self._redirect("/page")
        elif path == "/to-private":
            self._redirect("http://intranet.example/admin")
        elif path == "/to-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data/")
        elif path.startswith("/loop"):
            self._redirect(f"/loop{int(path[5:] or 0) + 1}")
        elif path == "/slow":
            time.sleep(1.5)
            self._send(200, PAGE)
        elif path == "/oembed":
            self._send(
                200,
                b'{"title": "A video", "author_name": "Someone", "provider_name": "YouTube",'
                b' "thumbnail_url": "https://i.ytimg.com/vi/x/hq.jpg"}',
                "application/json",
            )
        else:
            self._send(404, b"not found")


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch, local_server: str) -> list[Any]:
    """Every outgoing connection attempt; any target but the local test server fails."""
    attempts: list[Any] = []
    allowed = ("127.0.0.1", int(local_server.rsplit(":", 1)[1]))
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        if tuple(address[:2]) != allowed:
            raise OSError("test forbids this connection")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        attempts.append(address)
        return 111  # ECONNREFUSED

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    _Handler.hits.clear()
    _Handler.hosts.clear()
    return attempts


RESOLVES: dict[str, list[str]] = {
    "loopback.example": ["127.0.0.1"],
    "loopback-other.example": ["127.8.9.10"],
    "ten.example": ["10.1.2.3"],
    "intranet.example": ["10.0.0.1"],
    "oneseventwo.example": ["172.16.5.4"],
    "oneninetwo.example": ["192.168.1.1"],
    "linklocal.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.0.1"],
    "zero.example": ["0.0.0.0"],  # noqa: S104 - an address to refuse, not to bind
    "ietf.example": ["192.0.0.8"],
    "benchmark.example": ["198.18.0.1"],
    "docs.example": ["203.0.113.5"],
    "multicast.example": ["224.0.0.1"],
    "reserved.example": ["240.0.0.1"],
    "broadcast.example": ["255.255.255.255"],
    "v6-loopback.example": ["::1"],
    "v6-unspecified.example": ["::"],
    "v6-ula.example": ["fd12:3456:789a::1"],
    "v6-linklocal.example": ["fe80::1"],
    "v6-sitelocal.example": ["fec0::1"],
    "v6-mapped-loopback.example": ["::ffff:127.0.0.1"],
    "v6-mapped-private.example": ["::ffff:10.0.0.1"],
    "v6-mapped-metadata.example": ["::ffff:169.254.169.254"],
    "v6-compatible.example": ["::10.0.0.1"],
    "v6-6to4-private.example": ["2002:a00:1::1"],
    "v6-nat64-private.example": ["64:ff9b::a00:1"],
    "v6-multicast.example": ["ff02::1"],
    "mixed.example": ["93.184.216.34", "10.0.0.1"],
    "public.example": ["93.184.216.34"],
    "youtube.com": ["142.250.1.1"],
    "www.youtube.com": ["142.250.1.1"],
    "youtu.be": ["142.250.1.2"],
}
PUBLIC = ("public.example", "youtube.com", "www.youtube.com", "youtu.be")


def stub_resolver(host: str, port: int) -> list[str]:
    if host not in RESOLVES:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return RESOLVES[host]


@pytest.fixture
def resolver() -> Iterator[None]:
    with safefetch.use_resolver(stub_resolver):
        yield


def preview(api: Api, url: str) -> Any:
    return api.as_("alice").get(f"/api/v1/link-preview?url={quote(url, safe='')}")


@pytest.fixture
def alice(api: Api) -> Api:
    api.register("alice")
    return api


BLOCKED = [name for name in RESOLVES if name not in PUBLIC]


@pytest.mark.usefixtures("resolver")
@pytest.mark.parametrize("host", BLOCKED)
def test_private_targets_are_refused_before_connecting(
    alice: Api, sockets: list[Any], host: str
) -> None:
    response = preview(alice, f"http://{host}/")
    assert response.status_code == 400
    assert response.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    assert sockets == []


@pytest.mark.usefixtures("resolver")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd00::1]:8080/",
        "http://10.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "https://100.100.100.200/",
    ],
)
def test_private_literals_are_refused(alice: Api, sockets: list[Any], url: str) -> None:
    with safefetch.use_resolver(lambda host, port: ["127.0.0.1"]):  # how glibc reads "127.1"
        response = preview(alice, url)
    assert response.status_code == 400
    assert response.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    assert sockets == []


def test_loopback_is_refused_without_the_test_exception(
    alice: Api, sockets: list[Any], local_server: str
) -> None:
    response = preview(alice, f"{local_server}/page")
    assert response.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    assert sockets == []


@pytest.mark.usefixtures("resolver")
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/", "URL must start with http:// or https://"),
        ("javascript:alert(1)", "URL must start with http:// or https://"),
        ("file:///etc/passwd", "URL must start with http:// or https://"),
        ("http://[::1/", "Invalid URL"),
        ("http://public.example:99999/", "Invalid URL"),
        ("http:///path-only", "URL must have a host"),
        ("http://metadata.google.internal/computeMetadata/v1/", "Blocked: internal hostname"),
        ("http://metadata.google/", "Blocked: internal hostname"),
        ("http://db.corp.internal/", "Blocked: internal hostname"),
        ("http://does-not-exist.example/", "Could not resolve hostname"),
    ],
)
def test_error_texts(alice: Api, sockets: list[Any], url: str, message: str) -> None:
    response = preview(alice, url)
    assert response.status_code == 400
    assert response.json() == {"error": message, "status": 400}
    assert sockets == []


def test_missing_url_and_authentication(api: Api) -> None:
    api.register("alice")
    assert api.as_("alice").get("/api/v1/link-preview").status_code == 400
    assert api.get("/api/v1/link-preview?url=http://x/", token="").status_code == 401


# --- Real fetches from the local server (loopback allowed for these tests only) ---------------


@pytest.fixture
def loopback_allowed() -> Iterator[None]:
    with safefetch.allow_loopback_for_tests():
        yield


@pytest.mark.usefixtures("loopback_allowed")
def test_opengraph_preview(alice: Api, sockets: list[Any], local_server: str) -> None:
    url = f"{local_server}/page"
    response = preview(alice, url)
    assert response.status_code == 200
    assert response.json() == {
        "url": url,
        "title": "Haven & friends",
        "description": "Encrypted chat",
        "image": "https://cdn.example/haven.png",
        "site_name": "Haven",
    }
    assert _Handler.hosts == [local_server.removeprefix("http://")]


@pytest.mark.usefixtures("loopback_allowed")
def test_fallbacks_charset_and_non_html(alice: Api, sockets: list[Any], local_server: str) -> None:
    plain = preview(alice, f"{local_server}/plain").json()
    assert plain == {"url": f"{local_server}/plain", "title": "Just a title",
                     "description": "A description"}  # fmt: skip
    assert preview(alice, f"{local_server}/latin1").json()["title"] == "Caf\u00e9"
    assert preview(alice, f"{local_server}/json").json() == {"url": f"{local_server}/json"}


@pytest.mark.usefixtures("loopback_allowed")
def test_only_the_first_512_kib_are_read(alice: Api, sockets: list[Any], local_server: str) -> None:
    assert preview(alice, f"{local_server}/huge").json() == {"url": f"{local_server}/huge"}


@pytest.mark.usefixtures("loopback_allowed")
def test_redirects_are_followed_and_vetted(
    alice: Api, sockets: list[Any], local_server: str
) -> None:
    followed = preview(alice, f"{local_server}/to-page")
    assert followed.json()["title"] == "Haven & friends"
    with safefetch.use_resolver(stub_resolver):
        private = preview(alice, f"{local_server}/to-private")
    assert private.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    metadata = preview(alice, f"{local_server}/to-metadata")
    assert metadata.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    port = int(local_server.rsplit(":", 1)[1])
    assert all(address[:2] == ("127.0.0.1", port) for address in sockets)


@pytest.mark.usefixtures("loopback_allowed")
def test_at_most_five_redirects(alice: Api, sockets: list[Any], local_server: str) -> None:
    response = preview(alice, f"{local_server}/loop")
    assert response.json()["error"] == "Failed to fetch URL"
    assert sum(v for k, v in _Handler.hits.items() if k.startswith("/loop")) == 6


@pytest.mark.usefixtures("loopback_allowed")
def test_time_limit(
    alice: Api, sockets: list[Any], local_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_preview, "TIMEOUT", 0.5)
    started = time.monotonic()
    response = preview(alice, f"{local_server}/slow")
    assert response.json()["error"] == "Failed to fetch URL"
    assert time.monotonic() - started < 1.4


@pytest.mark.usefixtures("loopback_allowed")
def test_unreachable_server(alice: Api) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    response = preview(alice, f"http://127.0.0.1:{closed_port}/")
    assert response.json()["error"] == "Failed to fetch URL"


@pytest.mark.usefixtures("loopback_allowed")
def test_results_and_errors_are_cached(alice: Api, sockets: list[Any], local_server: str) -> None:
    url = f"{local_server}/page"
    first = preview(alice, url).json()
    assert preview(alice, url).json() == first
    assert _Handler.hits["/page"] == 1
    assert preview(alice, f"{local_server}/loop").json()["error"] == "Failed to fetch URL"
    hits = sum(_Handler.hits.values())
    assert preview(alice, f"{local_server}/loop").json()["error"] == "Failed to fetch URL"
    assert sum(_Handler.hits.values()) == hits


@pytest.mark.usefixtures("loopback_allowed", "resolver")
def test_youtube_uses_oembed(
    alice: Api, sockets: list[Any], local_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_preview, "YOUTUBE_OEMBED", f"{local_server}/oembed")
    url = "https://www.youtube.com/watch?v=abc"
    response = preview(alice, url)
    assert response.json() == {
        "url": url,
        "title": "A video",
        "description": "Someone",
        "image": "https://i.ytimg.com/vi/x/hq.jpg",
        "site_name": "YouTube",
    }
    assert _Handler.hits == {"/oembed": 1}


@pytest.mark.usefixtures("resolver")
def test_oembed_goes_through_the_same_guard(
    alice: Api, sockets: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(link_preview, "YOUTUBE_OEMBED", "http://intranet.example/oembed")
    response = preview(alice, "https://youtu.be/abc")
    assert response.json()["error"] == "Blocked: URL resolves to a private/reserved IP address"
    assert sockets == []


def test_is_blocked_table() -> None:
    import ipaddress

    for text in ("8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"):
        assert not safefetch.is_blocked(ipaddress.ip_address(text)), text
    for text in ("127.0.0.1", "::1", "::ffff:192.168.0.1", "2002:c0a8:1::", "fc00::1"):
        assert safefetch.is_blocked(ipaddress.ip_address(text)), text


def test_loopback_setting_for_test_processes(
    alice: Api, sockets: list[Any], local_server: str
) -> None:
    """LINK_PREVIEW_ALLOW_LOOPBACK (test processes only, e.g. the browser tests) opens the guard
    to loopback exactly like allow_loopback_for_tests(); without it, loopback stays refused."""
    url = f"{local_server}/page?setting"
    assert preview(alice, url).json()["error"] == safefetch.PRIVATE_ADDRESS
    with haven_settings(link_preview_allow_loopback=True):
        assert preview(alice, f"{url}2").json()["title"] == "Haven & friends"
        refused = preview(alice, "http://10.0.0.1/")  # only loopback opens
        assert refused.json()["error"] == safefetch.PRIVATE_ADDRESS
