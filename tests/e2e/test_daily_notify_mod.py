"""Notifications, mentions and moderation in the app (issue 13, items 3 and 7), two people:

3. desktop notifications turned on from the offer after the first message (the browser's real
   Notification API, watched by a spy) and the optional sound, @mention autocomplete, the
   mention found after decryption (badges on the channel and the server icon, the unread count
   in the tab title, the message highlighted), a muted server stays quiet, a DM notifies by
   default;
7. pin only where allowed, reporting a message (the dialog says the server cannot read it), a
   channel permission set in the overwrites editor refusing a send (whose words come back), a
   timeout from the member list with the notice to the member, the audit log, the role editor's
   descriptions, and the notices of a kick and a ban (rejoining in between from a pasted link)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    Console,
    api_login,
    message,
    message_row,
    send,
    server_pair,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

# Records every notification the page shows, on top of the browser's own implementation.
NOTIFICATION_SPY = """(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notes = [];
  class Spy extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body });
    }
  }
  Object.defineProperty(Spy, "permission", { get: () => Real.permission });
  Spy.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Spy;
  window.__tones = 0;  // the optional sound: oscillators started by the page
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (...args) {
    window.__tones += 1;
    return start.apply(this, args);
  };
})();"""


def test_notifications_mentions_and_moderation(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def notes(page: Any) -> list[dict[str, str]]:
    return list(page.evaluate("() => window.__notes || []"))


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    oli, max_, server_id, welcome = server_pair(
        browser, console, pages, haven.url, ("oli", "max"), "Daily"
    )
    max_.context.grant_permissions(["notifications"], origin=haven.url)
    max_.context.add_init_script(NOTIFICATION_SPY)
    max_.reload()
    max_.wait_for_selector("#link-state.live")

    # 3. After the first message, an offer to turn on notifications (a click asks the browser).
    send(max_, "hello all")
    max_.click("#notify-enable")
    max_.locator("#notify-offer").wait_for(state="hidden")

    oli.click("#server-menu")
    oli.click("[data-action=create-channel]")
    oli.fill("dialog input[name=name]", "random")
    oli.click("dialog button[type=submit]")
    oli.wait_for_selector("#chat-title:text-is('#random')")
    random = oli.url.rsplit("/", 1)[-1]
    max_.wait_for_selector(f".channel[data-channel-id='{random}']")

    # @ma offers max; Enter picks him; the mention goes out as a mention node.
    oli.click("#composer-input")
    oli.keyboard.type("hello @ma", delay=40)
    oli.wait_for_selector("#mention-list .mention-option[data-username=max]")
    oli.keyboard.press("Enter")
    assert oli.input_value("#composer-input") == "hello @max "
    oli.keyboard.type("are you there", delay=20)
    oli.keyboard.press("Enter")

    max_.wait_for_selector(f".channel[data-channel-id='{random}'] .mention-count:text-is('@1')")
    max_.wait_for_selector(f".rail-item[data-server-id='{server_id}'] .rail-badge:text-is('1')")
    max_.wait_for_function("() => document.title === '(1) Haven'")
    max_.wait_for_function("() => (window.__notes || []).length === 1")
    assert notes(max_) == [{"title": "oli in #random", "body": "hello @max are you there"}]
    max_.click(f".channel[data-channel-id='{random}'] a")
    mentioned = max_.locator(".message.mentioned")
    mentioned.locator(".mention.me:text-is('@max')").wait_for()
    max_.wait_for_function("() => document.title === 'Haven'")
    assert max_.locator(".mention-count").count() == 0
    assert max_.locator(".rail-badge").count() == 0

    # A muted server: no notification, no unread in the title (the mention still counts).
    max_.click("#server-menu")
    max_.click("[data-action=mute-server]")
    oli.click(f".channel[data-channel-id='{welcome}'] a")
    oli.wait_for_selector("#chat-title:text-is('#welcome')")
    send(oli, "@max quiet news")
    max_.wait_for_selector(f".channel[data-channel-id='{welcome}'] .mention-count")
    assert max_.title() == "Haven"
    assert len(notes(max_)) == 1

    # The optional sound, turned on in Settings; a direct message notifies (and chimes) by default.
    assert max_.evaluate("() => window.__tones") == 0
    max_.click("#settings-link")
    max_.check("#notify-sound")
    max_.click("#open-app")
    max_.wait_for_selector("#link-state.live")
    max_.click(f".rail-item[data-server-id='{server_id}']")
    max_.wait_for_selector("#chat-title")
    row = oli.locator(".member[data-username=max] .member-name")
    row.click()
    oli.click("dialog button:has-text('Message')")
    oli.wait_for_selector("#chat-title:text-is('max')")
    send(oli, "private hello")
    max_.wait_for_function("() => (window.__notes || []).length === 2")
    assert notes(max_)[1] == {"title": "oli", "body": "private hello"}
    max_.wait_for_function("() => window.__tones === 2")  # one two-tone chime
    assert max_.title() == "(1) Haven"
    oli.click(f".rail-item[data-server-id='{server_id}']")
    oli.click(f".channel[data-channel-id='{random}'] a")
    oli.wait_for_selector("#chat-title:text-is('#random')")

    # 7. Pins only where allowed: a member pins his own message, not someone else's.
    own = message_row(max_, "hello all")
    max_.click(f".channel[data-channel-id='{welcome}'] a")
    own.hover()
    assert own.locator("[data-action=pin]").count() == 1
    others = message_row(max_, "quiet news")
    others.hover()
    assert others.locator("[data-action=pin]").count() == 0
    message_row(oli, "are you there").locator("[data-action=pin]").wait_for(state="attached")

    # Reporting: the dialog says the server cannot read messages; the report reaches the admins.
    others.locator("[data-action=report]").click()
    dialog = max_.locator("#report-dialog")
    assert "cannot read this message" in dialog.inner_text()
    dialog.locator("input[value=spam]").check()
    dialog.locator("textarea[name=details]").fill("advertising again")
    dialog.locator("button[type=submit]").click()
    max_.wait_for_selector(".notice:has-text('Report sent')")
    reports = api_login(haven.url, "oli").get("/admin/reports").json()
    assert [r["reason"] for r in reports] == ["Spam or scam: advertising again"]

    # The channel permissions editor: @everyone may not send in #random.
    oli.click(f".channel[data-channel-id='{random}'] [aria-label='Edit channel random']")
    oli.click("#channel-permissions")
    editor = oli.locator("#overwrites-dialog")
    editor.locator("#overwrite-target").select_option(label="@everyone")
    editor.locator("[aria-label='Send messages: deny']").check()
    editor.locator("button[type=submit]").click()
    editor.locator(".status:text-is('Saved.')").wait_for()
    oli.keyboard.press("Escape")
    max_.click(f".channel[data-channel-id='{random}'] a")
    max_.wait_for_selector("#chat-title:text-is('#random')")
    send(max_, "blocked words")
    max_.wait_for_selector(".notice.error:has-text('permission')")
    assert max_.input_value("#composer-input") == "blocked words"  # given back for a retry

    # A timeout from the member list: the member is told, and his composer says why it is off.
    target = oli.locator(".member[data-username=max]")
    target.hover()
    target.locator("[data-action=timeout]").click()
    oli.select_option("dialog select[name=duration]", "60")
    oli.fill("dialog input[name=reason]", "cool down")
    oli.click("dialog button[type=submit]")
    max_.wait_for_selector(".telling:has-text('You were timed out in Daily until')")
    max_.wait_for_selector("#composer-blocked:has-text('You are timed out in this server')")
    assert max_.locator("#composer-input").is_disabled()
    oli.wait_for_selector(".member[data-username=max] .timed-out")

    # The audit log names what happened; the role editor explains each permission.
    oli.click("#server-menu")
    oli.click("[data-action=settings]")
    oli.click("[data-tab=audit]")
    log = oli.locator("#audit-log")
    log.locator(
        "li[data-action=member_timeout]:has-text('oli timed out max (for 1 minute)')"
    ).wait_for()
    assert "Reason: cool down" in log.locator("li[data-action=member_timeout]").inner_text()
    assert log.locator("li[data-action=overwrite_update]:has-text('#random')").count() == 1
    oli.click("[data-tab=roles]")
    oli.click("#new-role")
    assert oli.locator("#role-form .perm-desc").count() >= 10
    oli.keyboard.press("Escape")

    # Kicked: told so, and out of the server. Back through a pasted invite link, then banned.
    target.hover()
    target.locator("[data-action=kick]").click()
    oli.click("dialog button[type=submit]")
    max_.wait_for_selector(".telling:has-text('You were removed from Daily.')")
    max_.wait_for_url("**/#/channels/@me")
    code = api_login(haven.url, "oli").post(f"/servers/{server_id}/invites", json={}).json()["code"]
    max_.click("#join-server")
    max_.fill("dialog input[name=code]", f"{haven.url}/invite/{code}")
    max_.click("dialog button[type=submit]")
    max_.wait_for_selector("#chat-title:text-is('#welcome')")
    target = oli.locator(".member[data-username=max]")
    target.hover()
    target.locator("[data-action=ban]").click()
    oli.click("dialog button[type=submit]")
    max_.wait_for_selector(".telling:has-text('You were banned from Daily.')")
    max_.wait_for_url("**/#/channels/@me")

    # The browser's lines for the refused send and the lost access (403s) are the only errors.
    assert [e for e in console.errors if "status of 403" not in e] == []
    assert message(oli, "are you there").count() == 1
