"""The moderation desk from the client's side (issue 14), one browser session:

* a report that shares the message: nothing is shared until the reporter ticks the box, which
  shows what goes to the admins; the admins read the decrypted text and attachment name;
* the admin walk-through: the instance admin opens the report in the Django admin, bans the
  author from it, and the reporter is told live in the app, and sees the outcome in Settings;
* a suspended user's open tab leaves the app for the sign-in page, which then gives the reason
  and the end date;
* an account asked to choose a new password: its tab is signed out, signing in asks for the new
  password (the server's refusal of the same one shown), and the new one works."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.chat_helpers import (
    PASSWORD,
    TIMEOUT_MS,
    Console,
    api_login,
    message_row,
    new_user,
    open_app,
    send,
    server_pair,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

ABUSE = "cheap watches at spam.example, buy now"


def test_report_ban_suspend_and_password_change(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.fill("#login-form input[name=username]", username)
    page.fill("#login-form input[name=password]", password)
    page.click("#login-form button[type=submit]")


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    base = haven.url
    # ada owns the server and administers the instance (the first account); bob and cyd join.
    ada, bob, server_id, _ = server_pair(browser, console, pages, base, ("ada", "bob"), "Desk")
    admin_api = api_login(base, "ada")
    code = next(i["code"] for i in admin_api.get("/registration-invites").json() if not i["used"])
    cyd = new_user(browser, console, pages, base, "cyd", code)
    open_app(cyd)
    invite = admin_api.post(f"/servers/{server_id}/invites", json={}).json()["code"]
    cyd.click("#join-server")
    cyd.fill("dialog input[name=code]", invite)
    cyd.click("dialog button[type=submit]")
    cyd.wait_for_selector("#chat-title:text-is('#welcome')")
    cyd.set_input_files(
        "#file-input",
        files=[{"name": "offer.txt", "mimeType": "text/plain", "buffer": b"cheap"}],
    )
    cyd.wait_for_selector("#pending-files .pending-file[data-name='offer.txt']")
    send(cyd, ABUSE)

    # The report: sharing is off until ticked; ticking shows what the admins will get.
    row = message_row(bob, ABUSE)
    row.locator(".attachment .file-name:text-is('offer.txt')").wait_for()
    row.hover()
    row.locator("[data-action=report]").click()
    dialog = bob.locator("#report-dialog")
    assert "cannot read this message" in dialog.inner_text()
    assert not dialog.locator("#report-share").is_checked()
    assert dialog.locator("#report-preview").is_hidden()
    dialog.locator("#report-share").check()
    preview = dialog.locator("#report-preview")
    assert "to this instance's admins" in preview.inner_text()
    assert preview.locator(".shared-text").inner_text() == ABUSE
    assert "Attachments: offer.txt" in preview.inner_text()
    dialog.locator("textarea[name=details]").fill("advertising in every channel")
    dialog.locator("button[type=submit]").click()
    bob.wait_for_selector(".notice:has-text('Report sent with the message')")
    (filed,) = admin_api.get("/admin/reports").json()
    assert (filed["content"], filed["attachment_names"]) == (ABUSE, ["offer.txt"])
    assert filed["reason"] == "Spam or scam: advertising in every channel"

    # The admin opens the queue, then the report, sees what bob shared, and bans its author.
    desk = console.attach(ada.context.new_page())
    desk.set_default_timeout(TIMEOUT_MS)
    pages["desk"] = desk
    desk.goto(f"{base}/admin/")
    desk.fill("#id_username", "ada")
    desk.fill("#id_password", PASSWORD)
    desk.click("input[type=submit]")
    desk.click("a[href$='/admin/chat/report/']")
    desk.click(f"#result_list a[href*='/admin/chat/report/{filed['id']}/change/']")
    assert ABUSE in desk.inner_text(".haven-supplied")
    assert "offer.txt" in desk.inner_text("#content")
    desk.click("#decide-ban input[type=submit]")
    desk.wait_for_selector(".messagelist :text('Report resolved: author_banned.')")

    # The reporter is told at once, in the app; the author too; Settings keeps the outcome.
    bob.wait_for_selector(
        ".telling:has-text('reviewed your report of a message in #welcome in Desk: "
        "its author was banned from that server')"
    )
    cyd.wait_for_selector(".telling:has-text('You were banned from Desk.')")
    bob.click("#settings-link")
    mine = bob.locator(f"#my-reports li[data-report-id='{filed['id']}']")
    mine.wait_for()
    assert mine.get_attribute("data-outcome") == "author_banned"
    assert re.search(r"with the message\. Reviewed .*banned from that server", mine.inner_text())

    # Suspended with cyd's tab open: it leaves the app for the sign-in page...
    cyd.wait_for_selector("#link-state.live")
    open_user_page(desk, base, "cyd")
    suspend = desk.locator("form:has(input[name=op][value=suspend])")
    suspend.locator("#suspend-reason").fill("Spam in every server")
    suspend.locator("#suspend-days").fill("3")
    suspend.locator("input[type=submit]").click()
    cyd.wait_for_selector("#login-form #signed-out-notice")
    assert cyd.locator(".shell").count() == 0
    # ...and signing in says why, and until when.
    sign_in(cyd, "cyd")
    notice = cyd.locator("#suspended-notice")
    notice.wait_for()
    refused = httpx.post(
        f"{base}/api/v1/auth/login", json={"username": "cyd", "password": PASSWORD}
    )
    assert refused.json()["code"] == "account_suspended"
    assert notice.locator("time").get_attribute("datetime") == refused.json()["suspended_until"]
    assert notice.locator(".suspension-reason").inner_text() == "Spam in every server"

    # A new password required of bob: his tab is signed out; signing in asks for one.
    open_user_page(desk, base, "bob")
    desk.select_option("#other-op", "require_password_change")
    desk.click("form:has(#other-op) input[type=submit]")
    bob.wait_for_selector("#login-form #signed-out-notice")
    sign_in(bob, "bob")
    fields = bob.locator("#new-password-fields")
    fields.wait_for()
    assert "admins ask you to choose a new password" in fields.inner_text()
    fields.locator("input[name=new_password]").fill(PASSWORD)
    fields.locator("input[name=new_password_again]").fill(PASSWORD)
    bob.click("#login-form button[type=submit]")
    bob.wait_for_selector(
        "#login-form .error:text-is('New password must differ from the current one')"
    )
    fields.locator("input[name=new_password]").fill("a fresh passphrase for bob")
    fields.locator("input[name=new_password_again]").fill("a fresh passphrase for bob")
    bob.click("#login-form button[type=submit]")
    bob.wait_for_selector("#link-state.live")
    again = {"username": "bob", "password": "a fresh passphrase for bob"}
    assert httpx.post(f"{base}/api/v1/auth/login", json=again).status_code == 200

    # The browser's lines for the refusals this walk causes (401, 403, 400) are the only errors.
    assert [e for e in console.errors if not re.search(r"status of 40[013]", e)] == []


def open_user_page(desk: Any, base: str, username: str) -> None:
    """The user's page in the Django admin, found with the users list's search."""
    desk.goto(f"{base}/admin/accounts/user/?q={username}")
    desk.click(f"#result_list a:text-is('{username}')")
    desk.wait_for_selector("#user-desk")
