"""Invites as links, account basics and group DMs (issue 13, items 5, 6, 8 and the first-user
note of 10), in real browsers:

5. an invite link opened by someone signed out: the sign-in page says so, registration lands in
   the app with the join dialog ready, and joining works; the link is what server settings shares;
6. two-factor set-up with a QR code drawn in the browser (read back with zbar, the code computed
   from it accepted), signing another device out from the list, a browser signed out from
   elsewhere leaving "live" for the sign-in page, a password change that keeps the tab working,
   deleting the account;
8. a badge for pending friend requests, a group DM's member list, adding people, renaming (seen
   live by the others, the meta's other fields kept), leaving;
10. the first account is told it administers the instance, with a link to the admin."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.chat_helpers import (
    PASSWORD,
    TIMEOUT_MS,
    Console,
    api_login,
    invite_codes,
    message,
    new_user,
    open_app,
    send,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow


def test_invite_links_account_and_groups(haven: HavenProcess, browser: Any, tmp_path: Path) -> None:
    if not shutil.which("zbarimg"):
        pytest.skip("zbar-tools is not installed (make system-deps)")
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages, tmp_path)
    except BaseException:
        snapshot(pages, console)
        raise


def group_meta(base: str, group: str) -> dict[str, Any]:
    """The group's meta as stored (e2ee.md 8.1: base64 of UTF-8 JSON), read as ada."""
    listed = api_login(base, "ada").get("/dm").json()
    meta = next(c["encrypted_meta"] for c in listed if c["id"] == group)
    return dict(json.loads(base64.b64decode(meta)))


def accept_request(page: Any, username: str) -> None:
    page.click(f"#incoming-requests .friend[data-username={username}] [data-action=accept]")
    page.wait_for_selector(f"#friend-list .friend[data-username={username}]")


def scenario(
    haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any], tmp: Path
) -> None:
    base = haven.url
    # 10. The first account is the instance admin, and is told so.
    ada = new_user(browser, console, pages, base, "ada")
    ada.wait_for_selector("#admin-note:has-text('You administer this Haven instance')")
    assert ada.get_attribute("#admin-link", "href") == "/admin/"
    codes = invite_codes(ada)
    open_app(ada)
    ada.click("#create-server")
    ada.fill("dialog input[name=name]", "Links")
    ada.click("dialog button[type=submit]")
    ada.wait_for_selector("#chat-title:text-is('#welcome')")
    ada.click("#server-menu")
    ada.click("[data-action=invite]")
    ada.click("#invite-form button[type=submit]")
    link = ada.inner_text("#invite-link")
    code = ada.inner_text("#new-invite .invite-code")
    assert link == f"{base}/invite/{code}"
    ada.keyboard.press("Escape")

    # 5. Someone signed out opens the link: told why, registers, lands in the app, joins.
    bea = console.attach(browser.new_context().new_page())
    bea.set_default_timeout(TIMEOUT_MS)
    pages["bea"] = bea
    bea.goto(link)
    bea.wait_for_selector("#login-form #invite-notice")
    assert bea.url == f"{base}/#/login"
    bea.click("a[href='#/register']")
    bea.wait_for_selector("#register-form #invite-notice")
    bea.fill("#register-form input[name=username]", "bea")
    bea.fill("#register-form input[name=password]", PASSWORD)
    bea.fill("#register-form input[name=invite_code]", codes[0])
    bea.click("#register-form button[type=submit]")
    bea.wait_for_selector(f"dialog input[name=code][value='{code}']")
    bea.click("dialog button[type=submit]")
    bea.wait_for_selector("#chat-title:text-is('#welcome')")
    ada.wait_for_selector(".member[data-username=bea]")

    # 8. A friend request shows as a badge (rail and Friends) until it is answered.
    cyd = new_user(browser, console, pages, base, "cyd", codes[1])
    open_app(cyd)
    dan = new_user(browser, console, pages, base, "dan", codes[2])
    open_app(dan)
    for page in (bea, cyd, dan):
        page.click("a.rail-item[href='#/channels/@me']")
        page.fill("#add-friend input[name=username]", "ada")
        page.click("#add-friend button[type=submit]")
        page.wait_for_selector("#add-friend + .status:has-text('Request sent')")
    ada.click("a.rail-item[href='#/channels/@me']")
    ada.wait_for_selector("#pending-badge:text-is('3')")
    assert ada.locator("a.rail-item[href='#/channels/@me'] .rail-badge").inner_text() == "3"
    for name in ("bea", "cyd", "dan"):
        accept_request(ada, name)
    ada.wait_for_selector("#pending-badge", state="detached")

    # A group DM: its member list, people added, someone leaving.
    ada.click("#new-group")
    ada.fill("dialog input[name=name]", "Planning")
    for name in ("bea", "cyd"):
        ada.check(f"dialog label:has-text('{name}') input")
    ada.click("dialog button[type=submit]")
    ada.wait_for_selector("#chat-title:text-is('Planning')")
    group = ada.url.rsplit("/", 1)[-1]
    members = ada.locator("#group-members .member")
    members.nth(2).wait_for()
    assert sorted(members.evaluate_all("(els) => els.map((e) => e.dataset.username)")) == [
        "ada",
        "bea",
        "cyd",
    ]
    ada.click("#add-to-group")
    ada.check("dialog label:has-text('dan') input")
    ada.click("dialog button[type=submit]")
    ada.wait_for_selector("#group-members .member[data-username=dan]")
    send(ada, "welcome to the plan")
    for page in (bea, cyd, dan):
        page.goto(f"{base}/#/channels/@me/{group}")
        message(page, "welcome to the plan").wait_for()
    # Any participant renames the group (a port addition); the others see it live.
    before = group_meta(base, group)
    bea.click("#rename-group")
    assert bea.input_value("#rename-group-dialog input[name=name]") == "Planning"
    bea.fill("#rename-group-dialog input[name=name]", "Road trip")
    bea.click("#rename-group-dialog button[type=submit]")
    for page in (bea, ada, cyd):
        page.wait_for_selector("#chat-title:text-is('Road trip')")
    ada.wait_for_selector(
        f".channel.dm[data-channel-id='{group}'] .channel-name:text-is('Road trip')"
    )
    assert group_meta(base, group) == {**before, "name": "Road trip"}
    cyd.click("#leave-group")
    cyd.click("dialog button[type=submit]")
    cyd.wait_for_url("**/#/channels/@me")
    ada.wait_for_selector("#group-members .member[data-username=cyd]", state="detached")
    ada.wait_for_selector(".message.system[data-event=member_left]")

    # 6. Two-factor authentication: the QR code drawn here carries the secret; its code works.
    ada.click("#settings-link")
    ada.click("#totp-setup")
    qr = ada.locator("#totp-qr")
    qr.wait_for()
    png = tmp / "qr.png"
    qr.screenshot(path=str(png))
    uri = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=True
    ).stdout.strip()
    secret = ada.inner_text("#totp-secret")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    ada.fill("#totp-form input[name=code]", totp.now())
    ada.click("#totp-form button[type=submit]")
    ada.wait_for_selector("#two-factor:has-text('Two-factor authentication is on')")
    login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    assert login.json() == {"totp_required": True}

    # Signing another device out from the list ends its session.
    phone = api_login(base, "bea")
    assert phone.get("/auth/sessions").status_code == 200
    bea.click("#settings-link")
    bea.wait_for_selector("#sessions li[data-current=false]")
    bea.click("#sessions li[data-current=false] [data-action=sign-out-device]")
    bea.wait_for_selector("#sessions li[data-current=false]", state="detached")
    assert phone.get("/auth/sessions").status_code == 401

    # A browser signed out from elsewhere leaves "live" for the sign-in page.
    bea.click("#open-app")
    bea.wait_for_selector("#link-state.live")
    other = api_login(base, "bea")
    mine = next(s for s in other.get("/auth/sessions").json() if not s["is_current"])
    other.delete(f"/auth/sessions/{mine['family_id']}").raise_for_status()
    bea.wait_for_selector("#login-form #signed-out-notice")
    assert bea.locator(".shell").count() == 0

    # A password change keeps this tab signed in (the other sessions end).
    dan.click("#settings-link")
    dan.fill("#password-form input[name=current_password]", PASSWORD)
    dan.fill("#password-form input[name=new_password]", "a brand new passphrase")
    dan.click("#password-form button[type=submit]")
    dan.wait_for_selector("#password-status:has-text('Password changed')")
    dan.click("#open-app")
    dan.wait_for_selector("#link-state.live")
    dan.goto(f"{base}/#/channels/@me/{group}")
    send(dan, "still here")
    message(dan, "still here").wait_for()
    ada.goto(f"{base}/#/channels/@me/{group}")
    message(ada, "still here").wait_for()
    old = httpx.post(f"{base}/api/v1/auth/login", json={"username": "dan", "password": PASSWORD})
    assert old.status_code == 401

    # Deleting the account: confirmed with the password, then the sign-in page says so.
    dan.click("#settings-link")
    dan.click("#delete-account-button")
    dan.fill("dialog input[name=password]", "a brand new passphrase")
    dan.click("dialog button[type=submit]")
    dan.wait_for_selector("#login-form #signed-out-notice:has-text('Your account was deleted.')")
    gone = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "dan", "password": "a brand new passphrase"}
    )
    assert gone.status_code == 401

    # The browser's lines for the sessions ended under it (401) are the only console errors.
    unexpected = [
        (e, u)
        for e, u in zip(console.errors, console.sources, strict=True)
        if "status of 401" not in e
    ]
    assert unexpected == []
