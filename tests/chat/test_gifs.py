"""GIF search and trending (api.md 2.25) against a fake Giphy on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import Api, haven_settings

GIPHY_ITEM = {
    "id": "abc123",
    "title": "Party Parrot",
    "images": {
        "fixed_height": {"url": "https://media.giphy.com/abc/200.gif", "width": "356",
                         "height": "200"},
        "fixed_height_still": {"url": "https://media.giphy.com/abc/200_s.gif"},
    },
}  # fmt: skip
SPARSE_ITEM = {"id": "nothing", "images": {"fixed_height": {"url": "https://m/x.gif"}}}


class _Giphy(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict[str, list[str]]]] = []
    fail = False

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        type(self).requests.append((parts.path, parse_qs(parts.query)))
        if type(self).fail:
            body, status = b"upstream broke", 502
        else:
            payload = {
                "data": [GIPHY_ITEM, SPARSE_ITEM],
                "pagination": {"total_count": 4242, "count": 2, "offset": 0},
            }
            body, status = json.dumps(payload).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def giphy() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Giphy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/gifs"
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(giphy: str) -> Iterator[None]:
    _Giphy.requests.clear()
    _Giphy.fail = False
    with haven_settings(giphy_api_key="test-key", giphy_api_url=giphy):
        yield


EXPECTED = {
    "results": [
        {
            "id": "abc123",
            "title": "Party Parrot",
            "url": "https://media.giphy.com/abc/200.gif",
            "preview_url": "https://media.giphy.com/abc/200_s.gif",
            "width": 356,
            "height": 200,
        },
        {
            "id": "nothing",
            "title": "",
            "url": "https://m/x.gif",
            "preview_url": "https://m/x.gif",
            "width": 200,
            "height": 200,
        },
    ],
    "total_count": 4242,
}


@pytest.mark.usefixtures("configured")
def test_search(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").get("/api/v1/gifs/search?q=party%20parrot&offset=25")
    assert response.status_code == 200
    assert response.json() == EXPECTED
    path, query = _Giphy.requests[-1]
    assert path == "/v1/gifs/search"
    assert query == {
        "api_key": ["test-key"], "q": ["party parrot"], "offset": ["25"], "limit": ["25"],
        "rating": ["g"],
    }  # fmt: skip


@pytest.mark.usefixtures("configured")
def test_trending(api: Api) -> None:
    api.register("alice")
    response = api.as_("alice").get("/api/v1/gifs/trending")
    assert response.json() == EXPECTED
    path, query = _Giphy.requests[-1]
    assert path == "/v1/gifs/trending"
    assert query == {"api_key": ["test-key"], "limit": ["25"], "rating": ["g"]}


@pytest.mark.usefixtures("configured")
def test_upstream_failure(api: Api) -> None:
    api.register("alice")
    _Giphy.fail = True
    response = api.as_("alice").get("/api/v1/gifs/trending")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "status": 500}


@pytest.mark.usefixtures("configured")
def test_query_errors(api: Api) -> None:
    api.register("alice")
    assert api.as_("alice").get("/api/v1/gifs/search").status_code == 400
    assert api.as_("alice").get("/api/v1/gifs/search?q=x&offset=-1").status_code == 400
    assert api.as_("alice").get("/api/v1/gifs/search?q=x&offset=abc").status_code == 400
    assert api.get("/api/v1/gifs/trending", token="").status_code == 401


def test_not_configured(api: Api) -> None:
    api.register("alice")
    with haven_settings(giphy_api_key=""):
        for path in ("/api/v1/gifs/search?q=cat", "/api/v1/gifs/trending"):
            response = api.as_("alice").get(path)
            assert response.json() == {"error": "GIF search not configured", "status": 400}


def test_unreachable_giphy(api: Api) -> None:
    api.register("alice")
    with haven_settings(giphy_api_key="k", giphy_api_url="http://127.0.0.1:9/v1/gifs"):
        assert api.as_("alice").get("/api/v1/gifs/trending").status_code == 500
