"""Regenerates the client screenshots of docs/client.md (desktop and phone): `make screenshots`.

A real Haven process on the embedded default in a temporary directory, Debian's Chromium through
Playwright, two people writing in a server. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.chat_helpers import PASSWORD, TIMEOUT_MS, invite_codes, message, open_app, send
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.processes import HavenProcess

OUT = Path(__file__).resolve().parents[2] / "docs" / "img"


def register(
    browser: Any, base: str, username: str, display: str, code: str | None, **ctx: Any
) -> Any:
    page = browser.new_context(**ctx).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/#/register")
    page.fill("#register-form input[name=username]", username)
    page.fill("#register-form input[name=display_name]", display)
    page.fill("#register-form input[name=password]", PASSWORD)
    if code:
        page.fill("#register-form input[name=invite_code]", code)
    page.click("#register-form button[type=submit]")
    page.wait_for_selector("#invite-codes li.invite")
    return page


def scene(browser: Any, base: str, out: Path) -> None:
    alice = register(
        browser, base, "alice", "Alice Martin", None, viewport={"width": 1280, "height": 760}
    )
    code = invite_codes(alice)[0]
    open_app(alice)
    alice.click("#create-server")
    alice.fill("dialog input[name=name]", "Haven Lab")
    alice.click("dialog button[type=submit]")
    alice.wait_for_selector("#chat-title:text-is('#welcome')")
    for name in ("design", "releases"):
        alice.click("#server-menu")
        alice.click("[data-action=create-channel]")
        alice.fill("dialog input[name=name]", name)
        alice.click("dialog button[type=submit]")
        alice.wait_for_selector(f"#chat-title:text-is('#{name}')")
    alice.click(".channel a:has-text('welcome')")
    alice.click("#server-menu")
    alice.click("[data-action=invite]")
    alice.click("#invite-form button[type=submit]")
    link = alice.inner_text("#invite-link")
    alice.keyboard.press("Escape")

    phone = {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    }
    bob = register(browser, base, "bob", "Bob Okafor", code, **phone)
    open_app(bob)
    bob.goto(link)
    bob.click("dialog button[type=submit]")
    bob.wait_for_selector("#chat-title:text-is('#welcome')")

    send(alice, "Welcome to **Haven Lab**! Everything here is end-to-end encrypted.")
    send(bob, "Thanks! Is the _release checklist_ ready?")
    send(alice, "Almost:\n- notes written\n- `make test` green\n- screenshots ||still to do||")
    alice.click("#composer-input")
    alice.keyboard.type("@bo", delay=30)
    alice.wait_for_selector("#mention-list .mention-option")
    alice.keyboard.press("Enter")
    alice.keyboard.type("can you check the phone layout?")
    alice.keyboard.press("Enter")
    message(bob, "check the phone layout").wait_for()
    send(bob, "On it. It fits nicely at 390 px.")
    row = alice.locator(".message", has=alice.locator(".body", has_text="On it"))
    row.hover()
    row.locator("[data-action=react]").click()
    alice.click("button[aria-label='React with 🎉']")
    row.locator(".reaction").wait_for()
    for page in (alice, bob):
        page.click("#notify-later")  # the one-time offer, answered
        page.wait_for_selector(".typing:empty", state="attached", timeout=8000)
    alice.mouse.move(640, 700)

    out.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(out / "client-desktop.png"))
    bob.wait_for_selector(".reaction")
    bob.screenshot(path=str(out / "client-phone.png"))
    bob.click("#nav-toggle")
    bob.wait_for_selector(".sidebar", state="visible")
    bob.screenshot(path=str(out / "client-phone-drawer.png"))


def main(out: Path = OUT) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server = HavenProcess(
            Path(tmp), {"REGISTRATION_INVITE_ONLY": "true", "POW_DIFFICULTY": "8"}
        )
        server.manage("migrate", "--noinput")
        server.start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    scene(browser, server.url, out)
                finally:
                    browser.close()
        finally:
            server.stop()
    for name in ("client-desktop.png", "client-phone.png", "client-phone-drawer.png"):
        print(out / name)  # the command's output: what it wrote


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
