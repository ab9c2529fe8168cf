"""Friends and a direct message in two browsers: a friend request by username, accepted on the
other side, then an encrypted DM both ways (the server stores only ciphertext)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    TIMEOUT_MS,
    Console,
    api_login,
    invite_codes,
    message,
    open_app,
    register,
    send,
    snapshot,
    stored_bodies,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow


def test_friend_request_then_dm_both_ways(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    alice = console.attach(browser.new_context().new_page())
    alice.set_default_timeout(TIMEOUT_MS)
    pages["alice"] = alice
    register(alice, haven.url, "alice")
    code = invite_codes(alice)[0]
    open_app(alice)
    bob = console.attach(browser.new_context().new_page())
    bob.set_default_timeout(TIMEOUT_MS)
    pages["bob"] = bob
    register(bob, haven.url, "bob", code)
    open_app(bob)

    # Alice asks by username; Bob sees the request (by polling) and accepts it.
    alice.fill("#add-friend input[name=username]", "bob")
    alice.click("#add-friend button[type=submit]")
    alice.wait_for_selector("#outgoing-requests .friend[data-username=bob]")
    bob.click("#incoming-requests .friend[data-username=alice] [data-action=accept]")
    bob.wait_for_selector("#friend-list .friend[data-username=alice]")
    alice.wait_for_selector("#friend-list .friend[data-username=bob]")

    # Alice opens the DM from her friend list and writes; Bob's DM list shows it.
    alice.click("#friend-list .friend[data-username=bob] [data-action=message]")
    alice.wait_for_selector("#chat-title:text-is('bob')")
    send(alice, "psst, bob")
    message(alice, "psst, bob").wait_for()
    bob.wait_for_selector(".channel.dm a")
    bob.click(".channel.dm a")
    bob.wait_for_selector("#chat-title:text-is('alice')")
    message(bob, "psst, bob").wait_for()
    send(bob, "hey alice")
    message(bob, "hey alice").wait_for()
    message(alice, "hey alice").wait_for()

    channel_id = alice.url.rsplit("/", 1)[-1]
    bodies = stored_bodies(api_login(haven.url, "alice"), channel_id)
    assert len(bodies) == 2
    assert not any(b"psst" in b or b"hey alice" in b for b in bodies)
    assert console.unexpected() == []
