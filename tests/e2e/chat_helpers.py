"""Shared steps for the chat end-to-end tests: register through the page, collect console
errors, read the message list, and call the REST API directly with httpx."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 15_000

# Nothing may reach the browser console as an error: no CSP violation, no script error, no
# failed socket (the tests that expect an API refusal list its status here).
EXPECTED_ERRORS = re.compile(r"^$")


class Console:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.sources: list[str] = []  # the URL each error names (a failed load's address), or ""

    def attach(self, page: Any) -> Any:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self._add(f"pageerror: {e}", ""))
        return page

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self._add(message.text, str((message.location or {}).get("url", "")))

    def _add(self, text: str, source: str) -> None:
        self.errors.append(text)
        self.sources.append(source)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not EXPECTED_ERRORS.search(e)]


def register(page: Any, base: str, username: str, invite_code: str | None = None) -> None:
    page.goto(f"{base}/#/register")
    page.fill("#register-form input[name=username]", username)
    page.fill("#register-form input[name=password]", PASSWORD)
    if invite_code is not None:
        page.fill("#register-form input[name=invite_code]", invite_code)
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#invite-codes li.invite", timeout=TIMEOUT_MS)


def invite_codes(page: Any) -> list[str]:
    return [
        str(c) for c in page.locator("#invite-codes li.invite:not(.used) code").all_inner_texts()
    ]


def open_app(page: Any) -> None:
    page.click("#open-app")
    page.wait_for_selector(".shell", timeout=TIMEOUT_MS)


def send(page: Any, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def message(page: Any, text: str) -> Any:
    return page.locator(".message .body", has_text=text)


def message_row(page: Any, text: str) -> Any:
    return page.locator(".message", has=page.locator(".body", has_text=text))


def current_ids(page: Any) -> tuple[str, str]:
    match = re.search(r"#/channels/([^/]+)/([^/]+)$", page.url)
    assert match, page.url
    return match.group(1), match.group(2)


def api_login(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=f"{base}/api/v1", timeout=10)
    auth = client.post("/auth/login", json={"username": username, "password": PASSWORD}).json()
    client.headers["Authorization"] = f"Bearer {auth['access_token']}"
    return client


def stored_bodies(client: httpx.Client, channel_id: str) -> list[bytes]:
    response = client.get(f"/channels/{channel_id}/messages", params={"limit": 100})
    response.raise_for_status()
    return [base64.b64decode(m["encrypted_body"]) for m in response.json()]


def snapshot(pages: dict[str, Any], console: Console) -> None:
    """On failure: screenshots and console output under /tmp/haven-e2e for a person to look at."""
    import contextlib
    from pathlib import Path

    out = Path("/tmp/haven-e2e")
    out.mkdir(exist_ok=True)
    for name, page in pages.items():
        with contextlib.suppress(Exception):  # best effort while reporting another failure
            page.screenshot(path=str(out / f"{name}.png"))
    (out / "console.txt").write_text("\n".join(console.errors))


def new_user(browser: Any, console: Console, pages: dict[str, Any], base: str, name: str,
             code: str | None = None) -> Any:  # fmt: skip
    """A fresh browser context, registered (with an invite code after the first user) and in the
    app, its page kept in `pages` for screenshots on failure."""
    page = console.attach(browser.new_context(accept_downloads=True).new_page())
    page.set_default_timeout(TIMEOUT_MS)
    pages[name] = page
    register(page, base, name, code)
    return page


def server_pair(
    browser: Any, console: Console, pages: dict[str, Any], base: str, names: tuple[str, str],
    server_name: str = "Files", owner_code: str | None = None,
) -> tuple[Any, Any, str, str]:  # fmt: skip
    """Two users in the app; the first (registered with ``owner_code`` when it is not the
    instance's first user) creates a server and the second joins it with an invite. Both end on
    #welcome, the socket live. Returns (owner, member, server id, channel id)."""
    owner = new_user(browser, console, pages, base, names[0], owner_code)
    code = invite_codes(owner)[0]
    open_app(owner)
    member = new_user(browser, console, pages, base, names[1], code)
    open_app(member)
    owner.wait_for_selector("#link-state.live")
    member.wait_for_selector("#link-state.live")
    owner.click("#create-server")
    owner.fill("dialog input[name=name]", server_name)
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#welcome')")
    server_id, channel_id = current_ids(owner)
    owner.click("#server-menu")
    owner.click("[data-action=invite]")
    owner.click("#invite-form button[type=submit]")
    invite = owner.inner_text("#new-invite .invite-code")
    owner.keyboard.press("Escape")
    member.click("#join-server")
    member.fill("dialog input[name=code]", invite)
    member.click("dialog button[type=submit]")
    member.wait_for_selector("#chat-title:text-is('#welcome')")
    owner.wait_for_selector(".message.system[data-event=member_joined]")
    return owner, member, server_id, channel_id


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 40, 90)
) -> bytes:
    """A real PNG made with Pillow (the server parses images it stores)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()
