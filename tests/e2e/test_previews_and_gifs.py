"""Link previews and GIFs in two browsers. A page served on 127.0.0.1 is previewed while the message
is composed (the Haven process fetches it: this process alone sets the test-only
LINK_PREVIEW_ALLOW_LOOPBACK), the preview travels inside the encrypted body, and the reader sees it
without fetching anything. The GIF picker (GIF search configured against a fake Giphy on
127.0.0.1) sends the chosen GIF's URL as a message."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    Console,
    api_login,
    message_row,
    server_pair,
    snapshot,
    stored_bodies,
)
from tests.e2e.conftest import backends
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

ARTICLE = b"""<!doctype html><html><head>
<meta property="og:title" content="Haven field notes">
<meta property="og:description" content="How previews travel inside the encrypted message">
<meta property="og:site_name" content="Local Blog">
<meta property="og:image" content="https://cdn.example/cover.png">
<title>ignored</title></head><body>hello</body></html>"""
GIF_URL = "https://media.giphy.example/party/200.gif"
GIPHY = {
    "data": [{"id": "p1", "title": "Party Parrot",
              "images": {"fixed_height": {"url": GIF_URL, "width": "200", "height": "200"}}}],
    "pagination": {"total_count": 1},
}  # fmt: skip


class _Site(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []  # (path, user agent)

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("User-Agent", "")))
        if self.path.startswith("/article"):
            body, kind = ARTICLE, "text/html; charset=utf-8"
        elif self.path.startswith("/v1/gifs/"):
            body, kind = json.dumps(GIPHY).encode(), "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def preview_haven(tmp_path_factory: pytest.TempPathFactory, site: str) -> Iterator[HavenProcess]:
    server = HavenProcess(
        tmp_path_factory.mktemp("haven-previews"),
        {
            **backends(),
            "REGISTRATION_INVITE_ONLY": "true",
            "POW_DIFFICULTY": "8",
            "RATE_LIMITS_ENABLED": "false",
            "LINK_PREVIEW_ALLOW_LOOPBACK": "true",  # test-only: the guard may reach 127.0.0.1
            "GIPHY_API_KEY": "test-giphy-key",
            "GIPHY_API_URL": f"{site}/v1/gifs",
        },
    )
    server.manage("migrate", "--noinput")
    yield server.start()
    server.stop()


def test_link_preview_and_gif(preview_haven: HavenProcess, site: str, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(preview_haven, site, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(
    haven: HavenProcess, site: str, browser: Any, console: Console, pages: dict[str, Any]
) -> None:
    owner, member, _, channel_id = server_pair(
        browser, console, pages, haven.url, ("eve", "finn"), "Links"
    )
    browser_requests: list[str] = []
    for page in (owner, member):
        page.on("request", lambda r: browser_requests.append(r.url))

    # Composing a message with a link shows its preview; sending embeds it.
    url = f"{site}/article"
    owner.fill("#composer-input", f"worth reading: {url} !")
    owner.dispatch_event("#composer-input", "input")
    owner.wait_for_selector("#preview-draft .link-preview:has-text('Haven field notes')")
    owner.press("#composer-input", "Enter")
    owner.wait_for_selector("#preview-draft", state="hidden")

    card = message_row(member, "worth reading").locator(".link-preview")
    card.wait_for()
    assert card.locator(".site").inner_text() == "Local Blog"
    assert card.locator(".title a").inner_text() == "Haven field notes"
    assert card.locator(".title a").get_attribute("href") == url
    assert "inside the encrypted message" in card.locator(".description").inner_text()
    image_link = card.locator(".image-link a")
    assert image_link.inner_text() == "https://cdn.example/cover.png"  # a link, never loaded
    assert member.locator("img[src*='cdn.example']").count() == 0
    assert (
        message_row(member, "worth reading").locator(".body a.ext-link").get_attribute("href")
        == url
    )

    # Only the Haven process fetched the page, once (then from its cache); no browser did.
    fetched = [agent for path, agent in _Site.seen if path.startswith("/article")]
    assert len(fetched) == 1
    assert "HavenLinkPreview" in fetched[0]
    bodies = stored_bodies(api_login(haven.url, "eve"), channel_id)
    assert not any(b"Haven field notes" in b or b"Local Blog" in b for b in bodies)

    # The GIF picker (GIF search is configured here): picking one sends its URL.
    owner.click("#gif-button")
    owner.click("#gif-results .gif-choice:has-text('Party Parrot')")
    link = message_row(member, GIF_URL).locator(f".body a.ext-link[href='{GIF_URL}']")
    link.wait_for()
    assert not [u for u in browser_requests if u.startswith(site) or "giphy" in u]
    assert console.unexpected() == []
