"""The client's live path (realtime.js) against the real gateway: messages over the socket,
editing and deleting one's own message as a plain member, a reaction, and a typing indicator,
seen live in the other browser."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.e2e.conftest import backends
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live_haven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    server = HavenProcess(
        tmp_path_factory.mktemp("haven-live"),
        {
            **backends(),
            "REGISTRATION_INVITE_ONLY": "true",
            "POW_DIFFICULTY": "8",
            "RATE_LIMITS_ENABLED": "false",
        },
    )
    server.manage("migrate", "--noinput")
    yield server.start()
    server.stop()


def test_live_edit_delete_react_and_typing(live_haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(live_haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    owner = console.attach(browser.new_context().new_page())
    owner.set_default_timeout(TIMEOUT_MS)
    pages["owner"] = owner
    register(owner, haven.url, "host")
    code = invite_codes(owner)[0]
    open_app(owner)
    member = console.attach(browser.new_context().new_page())
    member.set_default_timeout(TIMEOUT_MS)
    pages["member"] = member
    register(member, haven.url, "guest", code)
    open_app(member)
    owner.wait_for_selector("#link-state.live")
    member.wait_for_selector("#link-state.live")

    owner.click("#create-server")
    owner.fill("dialog input[name=name]", "Live Room")
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#welcome')")
    _, channel_id = current_ids(owner)
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

    # Typing, then a message over the socket, delivered live.
    member.type("#composer-input", "first draft")
    owner.wait_for_selector(".typing:has-text('guest is typing')")
    member.press("#composer-input", "Enter")
    message(member, "first draft").wait_for()
    message(owner, "first draft").wait_for()

    # The member (no moderation rights) edits their own message...
    row = message_row(member, "first draft")
    row.hover()
    row.locator("[data-action=edit]").click()
    member.fill(".edit-input", "final words")
    member.press(".edit-input", "Enter")
    message(member, "final words").wait_for()
    message(owner, "final words").wait_for()
    assert message_row(owner, "final words").locator(".edited").count() == 1

    # ... the owner reacts, and the member sees the count ...
    send(owner, "react to me")
    message(member, "react to me").wait_for()
    target = message_row(member, "react to me")
    target.hover()
    target.locator("[data-action=react]").click()
    member.click("button[aria-label='React with 👍']")
    message_row(owner, "react to me").locator(".reaction", has_text="👍 1").wait_for()

    # ... and the member deletes their own message, everywhere.
    row = message_row(member, "final words")
    row.hover()
    row.locator("[data-action=delete]").click()
    member.click("dialog button[type=submit]")
    message(member, "final words").wait_for(state="detached")
    message(owner, "final words").wait_for(state="detached")

    bodies = stored_bodies(api_login(haven.url, "host"), channel_id)
    assert not any(b"react to me" in b or b"first draft" in b for b in bodies)
    assert console.errors == []  # the socket connected: not even a failed connection
