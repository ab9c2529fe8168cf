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

    def attach(self, page: Any) -> Any:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        return page

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
