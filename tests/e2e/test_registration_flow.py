"""The deployment guide in a real browser: the first user registers without a code and sees
three invite codes under Settings; a friend registers with one; the same code cannot be reused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.processes import HavenProcess

pytestmark = pytest.mark.slow


def register(page: Any, base: str, username: str, invite_code: str | None = None) -> None:
    page.goto(f"{base}/#/register")
    page.fill("#register-form input[name=username]", username)
    page.fill("#register-form input[name=password]", "correct horse battery staple")
    if invite_code is not None:
        page.fill("#register-form input[name=invite_code]", invite_code)
    page.click("#register-form button[type=submit]")


def test_first_user_then_invited_friend(haven: HavenProcess, browser: Any) -> None:
    errors: list[str] = []
    admin_context = browser.new_context()
    admin = admin_context.new_page()
    admin.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    register(admin, haven.url, "admin")
    admin.wait_for_selector("#invite-codes li.invite")
    codes = admin.locator("#invite-codes li.invite code").all_inner_texts()
    assert len(codes) == 3
    assert all(len(code) == 12 for code in codes)
    assert admin.locator("#sessions li").count() == 1
    assert errors == []  # no CSP violation or script error

    friend = browser.new_context().new_page()
    register(friend, haven.url, "friend", codes[0])
    friend.wait_for_selector("#invite-codes li.invite")
    assert friend.locator("#invite-codes li.invite").count() == 3

    admin.reload()
    admin.wait_for_selector(f"#invite-codes li.used[data-code='{codes[0]}']")

    stranger = browser.new_context().new_page()
    register(stranger, haven.url, "stranger", codes[0])
    alert = stranger.wait_for_selector("#register-form .error:not([hidden])")
    assert alert.inner_text() == "This invite code has already been used"


def test_sign_out_and_back_in(haven: HavenProcess, browser: Any) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{haven.url}/#/login")
    page.fill("#login-form input[name=username]", "admin")
    page.fill("#login-form input[name=password]", "correct horse battery staple")
    page.click("#login-form button[type=submit]")
    # A browser without the account's keys (and no key backup) asks before making new ones.
    page.click("#key-gate #make-new-keys")
    page.click("dialog button[type=submit]")
    page.wait_for_selector(".shell")  # then the app opens; settings are one click away
    page.click("#settings-link")
    page.wait_for_selector("#invite-codes")
    page.click("#sign-out")
    page.click("dialog button[type=submit]")
    page.wait_for_selector("#login-form")
