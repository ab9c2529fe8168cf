"""Several browsers per account without silent breakage (e2ee.md 9): Alice turns on key backup
with a security phrase; a second browser restores her keys from it and reads the channel's old
and new messages (hers and Bob's) while the first browser keeps sending and reading. Safety
numbers match on both sides and Alice marks Bob verified. Bob then makes new keys in another
browser: his first browser says its keys were replaced, and Alice sees a lasting key-change
notice in their DM and must confirm before her next send, which Bob's new browser reads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    PASSWORD,
    TIMEOUT_MS,
    Console,
    api_login,
    message,
    send,
    server_pair,
    snapshot,
    stored_bodies,
)
from tests.e2e.test_e2ee_conversations import befriend
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

PHRASE = "tulip anchor velvet orbit"


def test_restore_on_a_second_browser_and_key_changes(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def sign_in(browser: Any, console: Console, pages: dict[str, Any], base: str, name: str,
            key: str, **context: Any) -> Any:  # fmt: skip
    page = console.attach(browser.new_context(**context).new_page())
    page.set_default_timeout(TIMEOUT_MS)
    pages[key] = page
    page.goto(f"{base}/#/login")
    page.fill("#login-form input[name=username]", name)
    page.fill("#login-form input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#key-gate")
    return page


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    alice, bob, server_id, channel_id = server_pair(
        browser, console, pages, haven.url, ("alice", "bob"), "Devices"
    )
    channel_url = f"{haven.url}/#/channels/{server_id}/{channel_id}"

    # Alice turns on key backup in Settings.
    alice.click("#settings-link")
    alice.fill("#backup-phrase", PHRASE)
    alice.fill("#backup-phrase-again", PHRASE)
    alice.click("#backup-form button[type=submit]")
    alice.wait_for_selector("#backup-state:text('Key backup: on')", timeout=30_000)
    alice.goto(channel_url)
    send(bob, "bob before the restore")
    send(alice, "alice before the restore")
    message(alice, "bob before the restore").wait_for()
    message(bob, "alice before the restore").wait_for()

    # A second browser: no keys, a backup exists. A wrong phrase is refused; the right one works.
    # (This one is a phone-sized window: the gate and the conversation work at 390 x 844.)
    phone = {"viewport": {"width": 390, "height": 844}}
    alice2 = sign_in(browser, console, pages, haven.url, "alice", "alice2", **phone)
    box = alice2.locator("#restore-form button[type=submit]").bounding_box()
    assert box is not None
    assert 0 <= box["x"] <= box["x"] + box["width"] <= 390
    alice2.fill("#restore-form input[name=phrase]", "not the phrase")
    alice2.click("#restore-form button[type=submit]")
    alice2.wait_for_selector("#restore-form .error:text('Wrong security phrase')", timeout=30_000)
    alice2.fill("#restore-form input[name=phrase]", f" {PHRASE} ")  # trimmed (e2ee.md 9.5)
    alice2.click("#restore-form button[type=submit]")
    alice2.wait_for_selector(".shell", timeout=30_000)
    alice2.goto(channel_url)
    message(alice2, "bob before the restore").wait_for()
    message(alice2, "alice before the restore").wait_for()

    # New messages reach both of Alice's browsers; each of them sends, and everyone reads.
    send(bob, "bob after the restore")
    for page in (alice, alice2):
        message(page, "bob after the restore").wait_for()
    send(alice2, "from alice's second browser")
    for page in (alice, bob):
        message(page, "from alice's second browser").wait_for()
    send(alice, "the first browser still works")
    for page in (alice2, bob):
        message(page, "the first browser still works").wait_for()
    assert alice.locator(".body.undecryptable").count() == 0
    assert alice2.locator(".body.undecryptable").count() == 0

    # A DM between Alice and Bob; they compare safety numbers and Alice marks Bob verified.
    befriend(api_login(haven.url, "alice"), api_login(haven.url, "bob"), "bob")
    alice.goto(f"{haven.url}/#/channels/@me")
    alice.reload()
    alice.click("#friend-list .friend[data-username=bob] [data-action=message]")
    alice.wait_for_selector("#chat-title:text-is('bob')")
    dm_url = alice.url
    send(alice, "a direct hello")
    bob.goto(dm_url)
    bob.reload()
    message(bob, "a direct hello").wait_for()
    numbers = []
    send(bob, "hello back")
    message(alice, "hello back").wait_for()
    for page, peer in ((alice, "bob"), (bob, "alice")):
        page.click(f".message .author:text-is('{peer}')")
        page.wait_for_selector("#safety-digits code")
        numbers.append(page.inner_text("#safety-digits"))
        if page is alice:
            page.click("#verify-contact")
            page.wait_for_selector("#verified-state:text('✓ Verified')")
        page.keyboard.press("Escape")
    assert numbers[0] == numbers[1]
    assert len(numbers[0].split()) == 12
    # Settings lists the contact, verified, with the same safety number.
    alice.click("#settings-link")
    contact = alice.locator("#contact-keys li.friend", has_text="bob")
    contact.locator(".ok", has_text="verified").wait_for()
    contact.locator("[data-action=safety-number]").click()
    alice.wait_for_selector("#safety-digits code")
    assert alice.inner_text("#safety-digits") == numbers[0]
    alice.keyboard.press("Escape")

    # Scheduled re-keying, set in Settings: a new sender key after every 2 messages.
    alice.fill("#rotate-messages", "2")
    alice.click("#rotation-form button[type=submit]")
    alice.goto(channel_url)
    bob.goto(channel_url)
    for text in ("rotation one", "rotation two", "rotation three"):
        send(alice, text)
        message(bob, text).wait_for()
    newest = stored_bodies(api_login(haven.url, "bob"), channel_id)[:4]
    keys = [body[1:17] for body in newest]  # distribution ids, newest first
    assert keys[1] == keys[2] != keys[0]  # two messages on one key, then a new one
    assert keys[3] != keys[2]  # and that key was itself new (her earlier key had 2 messages)
    alice.goto(dm_url)
    bob.goto(dm_url)

    # A DM follows the account's browser that last sent (one Double Ratchet session per pair of
    # accounts): the second browser takes it over with a new session; the first one says which
    # messages belong to the other browser, then takes the DM back by sending.
    alice2.goto(dm_url)
    alice2.reload()
    # The DM's earlier messages belong to the first browser's session: marked, not readable here.
    alice2.locator(".message[data-status=other-device]").nth(1).wait_for()
    assert message(alice2, "hello back").count() == 0
    send(alice2, "dm from the second browser")
    message(bob, "dm from the second browser").wait_for()
    send(bob, "reply to the second browser")
    message(alice2, "reply to the second browser").wait_for()
    other = alice.locator(".message[data-status=other-device]")
    other.nth(1).wait_for()  # Alice 2's first message and Bob's reply to it
    send(alice, "back on the first browser")
    message(bob, "back on the first browser").wait_for()
    send(bob, "reply to the first browser")
    message(alice, "reply to the first browser").wait_for()
    alice2.locator(".message[data-status=other-device]").nth(3).wait_for()  # and now those two

    # Bob makes new keys in another browser. His first browser notices its keys were replaced.
    bob2 = sign_in(browser, console, pages, haven.url, "bob", "bob2")
    bob2.click("#key-gate #make-new-keys")
    bob2.click("dialog button[type=submit]")
    bob2.wait_for_selector(".shell")
    bob.reload()
    bob.wait_for_selector("#keys-replaced")
    bob.wait_for_selector("#link-state.keys-replaced")

    # Alice sees a lasting notice in the DM (after a reload too), and her next send asks first.
    alice.reload()
    alice.wait_for_selector('#key-notice [data-user-id]:has-text("bob\'s security key changed")')
    alice.reload()
    alice.wait_for_selector('#key-notice [data-user-id]:has-text("bob\'s security key changed")')
    send(alice, "are you really bob?")
    alice.wait_for_selector("dialog:has-text('Security key changed')")
    alice.click("dialog button[type=submit]")
    message(alice, "are you really bob?").wait_for()
    bob2.goto(dm_url)
    bob2.reload()
    message(bob2, "are you really bob?").wait_for()  # a new session, to Bob's new key
    send(bob2, "yes, new laptop")
    message(alice, "yes, new laptop").wait_for()

    # Signing out with "remove keys" leaves this browser without them (the gate comes back).
    # (Signing out ends every session of the account, so Alice's first browser is closed first.)
    alice.context.close()
    alice2.click("#nav-toggle")  # on a phone the user panel is in the channel list overlay
    alice2.click("#settings-link")
    alice2.click("#sign-out")
    alice2.check("#remove-keys")
    alice2.click("dialog button[type=submit]")
    alice2.wait_for_selector("#login-form")
    alice2.fill("#login-form input[name=username]", "alice")
    alice2.fill("#login-form input[name=password]", PASSWORD)
    alice2.click("#login-form button[type=submit]")
    alice2.wait_for_selector("#key-gate #restore-form")

    assert console.unexpected() == []
