"""Two people in two browsers: a server, an invite, encrypted messages both ways (the server
stores only ciphertext), a private channel the member cannot see, deleting one's own message as
the owner without the socket, and a kick. No console errors (CSP violations) along the way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    TIMEOUT_MS,
    Console,
    api_login,
    current_ids,
    invite_codes,
    message,
    message_row,
    open_app,
    register,
    send,
    snapshot,
    stored_bodies,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow


def test_server_messages_private_channel_and_kick(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    owner = console.attach(browser.new_context().new_page())
    owner.set_default_timeout(TIMEOUT_MS)
    pages["owner"] = owner
    register(owner, haven.url, "owner")
    code = invite_codes(owner)[0]
    open_app(owner)

    member = console.attach(browser.new_context().new_page())
    member.set_default_timeout(TIMEOUT_MS)
    pages["member"] = member
    register(member, haven.url, "member", code)
    open_app(member)

    # The owner creates a server and lands in its default channel, shown as #welcome.
    owner.click("#create-server")
    owner.fill("dialog input[name=name]", "Test Lab")
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#welcome')")
    assert owner.inner_text("#server-name") == "Test Lab"
    server_id, channel_id = current_ids(owner)

    # ... and makes an invite code; the member joins with it.
    owner.click("#server-menu")
    owner.click("[data-action=invite]")
    owner.click("#invite-form button[type=submit]")
    invite = owner.inner_text("#new-invite .invite-code")
    owner.keyboard.press("Escape")
    member.click("#join-server")
    member.fill("dialog input[name=code]", invite)
    member.click("dialog button[type=submit]")
    member.wait_for_selector("#chat-title:text-is('#welcome')")
    assert current_ids(member) == (server_id, channel_id)
    member.wait_for_selector(".message.system[data-event=member_joined]")

    # Messages both ways, each decrypted by the other side.
    send(owner, "hello from the owner")
    message(owner, "hello from the owner").wait_for()
    message(member, "hello from the owner").wait_for()
    send(member, "hi from the member")
    message(member, "hi from the member").wait_for()
    message(owner, "hi from the member").wait_for()
    author = message_row(member, "hello from the owner").locator(".author")
    assert author.inner_text() == "owner"

    # The server holds only ciphertext.
    client = api_login(haven.url, "owner")
    bodies = stored_bodies(client, channel_id)
    assert len(bodies) >= 3  # the join notice and two messages
    for plaintext in (b"hello from the owner", b"hi from the member"):
        assert not any(plaintext in body for body in bodies)

    # A private channel: the owner sees it, the member never does.
    owner.click("#server-menu")
    owner.click("[data-action=create-channel]")
    owner.fill("dialog input[name=name]", "secret-plans")
    owner.check("dialog input[name=is_private]")
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#secret-plans')")
    _, secret_id = current_ids(owner)
    send(owner, "only for admins")
    message(owner, "only for admins").wait_for()
    member.reload()
    member.wait_for_selector(f".channel[data-channel-id='{channel_id}']")
    assert member.locator(f".channel[data-channel-id='{secret_id}']").count() == 0
    assert member.locator(".channel-name", has_text="secret-plans").count() == 0
    as_member = api_login(haven.url, "member")
    assert as_member.get(f"/channels/{secret_id}/messages").status_code == 403

    # Deleting one's own message (the owner may use the REST moderation route without the socket).
    owner.click(f".channel[data-channel-id='{channel_id}'] a")
    message(owner, "hello from the owner").wait_for()
    message_row(owner, "hello from the owner").hover()
    message_row(owner, "hello from the owner").locator("[data-action=delete]").click()
    owner.click("dialog button[type=submit]")
    message(owner, "hello from the owner").wait_for(state="detached")
    message(member, "hello from the owner").wait_for(state="detached")

    assert console.unexpected() == []

    # The owner kicks the member, whose client leaves the server.
    row = owner.locator(".member[data-username=member]")
    row.hover()
    row.locator("[data-action=kick]").click()
    owner.click("dialog button[type=submit]")
    owner.locator(".member[data-username=member]").wait_for(state="detached")
    member.wait_for_url("**/#/channels/@me")
    assert member.locator(f".rail-item[data-server-id='{server_id}']").count() == 0
    owner.wait_for_selector(".message.system[data-event=member_kicked]")
    # The kicked member's client learns of the kick from the 403 of its next poll: that failed
    # request is the only console line the browser may add now.
    assert [e for e in console.unexpected() if "status of 403" not in e] == []
