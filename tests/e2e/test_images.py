"""Images in two browsers: a custom emoji uploaded in server settings, rendered for the other user
in a message (`:name:`) and used as a reaction, later renamed and deleted (live for the reader);
an avatar and a banner uploaded in Settings and a server icon, seen by the other user in the
member list, next to messages, on the profile card and in the server rail."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    Console,
    message_row,
    png_bytes,
    send,
    server_pair,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

LOADED = "(el) => el.complete && el.naturalWidth > 0"


def test_emojis_avatars_and_icons(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def loaded(page: Any, locator: Any) -> None:
    locator.first.wait_for()
    page.wait_for_function(LOADED, arg=locator.first.element_handle())


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    owner, member, server_id, _ = server_pair(
        browser, console, pages, haven.url, ("cleo", "dani"), "Pictures"
    )
    owner_id = owner.evaluate("JSON.parse(localStorage.getItem('haven.session')).user.id")
    # This process has no GIF search configured: no GIF button (and no probing request).
    owner.wait_for_selector("#attach-button")
    assert owner.locator("#gif-button").count() == 0

    # An open server menu survives the sidebar redraws that live events cause.
    owner.click("#server-menu")
    send(member, "redraw your sidebar")
    message_row(owner, "redraw your sidebar").wait_for()
    owner.wait_for_function("document.querySelector('.menu[role=menu]').hidden === false")
    assert owner.evaluate("document.activeElement.dataset.action") is not None

    # A custom emoji, uploaded in server settings (the owner holds MANAGE_EMOJIS).
    owner.click("[data-action=settings]")
    owner.click("[data-tab=emojis]")
    owner.fill("#emoji-form input[name=name]", "haven_ok")
    owner.set_input_files(
        "#emoji-file",
        files=[
            {"name": "ok.png", "mimeType": "image/png", "buffer": png_bytes(32, 32, (30, 200, 80))}
        ],
    )
    owner.click("#emoji-form button[type=submit]")
    owner.wait_for_selector("#emoji-list [data-emoji-name=haven_ok]")
    owner.keyboard.press("Escape")

    # Used in a message: the other user sees the image in place of the shortcode (live event).
    send(owner, "all good :haven_ok: here, :unknown_one: stays text")
    row = message_row(member, "all good")
    loaded(member, row.locator(".body img.emoji[alt=':haven_ok:']"))
    assert ":unknown_one:" in row.locator(".body").inner_text()

    # ... and as a reaction (its id is the reaction's emoji).
    row.hover()
    row.locator("[data-action=react]").click()
    member.click("button[aria-label='React with :haven_ok:']")
    reaction = message_row(owner, "all good").locator(".reaction", has_text="1")
    loaded(owner, reaction.locator("img.emoji[alt=':haven_ok:']"))

    # Avatar and banner in Settings > Profile.
    owner.click("#settings-link")
    owner.set_input_files(
        "#avatar-file",
        files=[
            {"name": "me.png", "mimeType": "image/png", "buffer": png_bytes(96, 96, (240, 180, 0))}
        ],
    )
    owner.wait_for_selector("#profile-images-status:text-is('Avatar saved.')")
    owner.set_input_files(
        "#banner-file",
        files=[
            {
                "name": "wide.png",
                "mimeType": "image/png",
                "buffer": png_bytes(300, 100, (0, 90, 200)),
            }
        ],
    )
    owner.wait_for_selector("#profile-images-status:text-is('Banner saved.')")
    loaded(owner, owner.locator("#profile-images img.avatar"))
    owner.click("#open-app")

    # A server icon (Server settings > Overview, MANAGE_SERVER).
    owner.click(f".rail-item[data-server-id='{server_id}']")
    owner.click("#server-menu")
    owner.click("[data-action=settings]")
    owner.set_input_files(
        "#icon-file",
        files=[
            {
                "name": "icon.png",
                "mimeType": "image/png",
                "buffer": png_bytes(64, 64, (120, 0, 160)),
            }
        ],
    )
    owner.wait_for_selector("#icon-status:text-is('Icon saved.')")
    owner.keyboard.press("Escape")
    loaded(owner, owner.locator(f".rail-item[data-server-id='{server_id}'] img.server-icon"))
    send(owner, "new look")

    # The other user (on their next load of the lists) sees all three.
    member.reload()
    member.wait_for_selector("#link-state.live")
    avatar_src = f"/api/v1/users/{owner_id}/avatar"
    loaded(
        member, member.locator(f".member[data-user-id='{owner_id}'] img.avatar[src='{avatar_src}']")
    )
    message_row(member, "new look").wait_for()
    loaded(
        member, message_row(member, "all good").locator(f"img.message-avatar[src='{avatar_src}']")
    )
    loaded(member, member.locator(f".rail-item[data-server-id='{server_id}'] img.server-icon"))
    loaded(member, message_row(member, "all good").locator("img.emoji[alt=':haven_ok:']"))
    member.click(f".member[data-user-id='{owner_id}'] .member-name")
    loaded(member, member.locator("dialog .profile-banner"))
    loaded(member, member.locator("dialog img.profile-avatar"))
    member.keyboard.press("Escape")

    # The emoji is renamed, then deleted; the deletion reaches the other user live.
    owner.click("#server-menu")
    owner.click("[data-action=settings]")
    owner.click("[data-tab=emojis]")
    owner.click("#emoji-list [data-emoji-name=haven_ok] [data-action=rename]")
    owner.fill("#emoji-list input[name=name]", "haven_yes")
    owner.press("#emoji-list input[name=name]", "Enter")
    owner.click("#emoji-list [data-emoji-name=haven_yes] [data-action=delete]")
    owner.wait_for_selector("#emoji-list:has-text('No custom emojis yet.')")
    owner.keyboard.press("Escape")
    row = message_row(member, "all good")
    row.locator("img.emoji").wait_for(state="detached")
    assert ":haven_ok:" in row.locator(".body").inner_text()
    assert "❔" in row.locator(".reaction").inner_text()

    assert console.unexpected() == []
