"""The client on a phone (issue 13, item 2) and its polish (item 10).

At 390 x 844 the main journeys (register, settings, friends, a server's channel with long words,
links and code, the drawers, a dialog, the sign-in page) never scroll the page sideways; one pane
shows at a time; touch targets are at least 40 px; the composer stays in view when the visible
height shrinks (an on-screen keyboard). On a desktop: icons are inline SVG, the user panel shows the
whole name, the member list has one "Members — N" heading, empty lists say what to do next, and
dialogs share one size."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    PASSWORD,
    TIMEOUT_MS,
    Console,
    current_ids,
    invite_codes,
    message,
    open_app,
    register,
    send,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
LONG_WORD = "Supercalifragilisticexpialidocious" * 3
LONG_LINK = "https://example.org/" + "a-very-long-path-segment/" * 6
NO_SIDEWAYS = """() => {
  const width = window.innerWidth;
  const inner = '.messages, .content, .sidebar-body, .modal-body';
  const scrollers = [...document.querySelectorAll(inner)]
    .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map((e) => e.className);
  const page = document.documentElement.scrollWidth <= width
    && document.body.scrollWidth <= width;
  return { page, scrollers };
}"""


def test_phone_layout_and_polish(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def no_sideways(page: Any, where: str) -> None:
    result = page.evaluate(NO_SIDEWAYS)
    assert result == {"page": True, "scrollers": []}, where


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return dict(found)


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    base = haven.url
    # A desktop user with a long display name owns the server.
    desk = console.attach(browser.new_context(viewport={"width": 1280, "height": 800}).new_page())
    desk.set_default_timeout(TIMEOUT_MS)
    pages["desk"] = desk
    desk.goto(f"{base}/#/register")
    desk.fill("#register-form input[name=username]", "alexandra")
    desk.fill("#register-form input[name=display_name]", "Alexandra Stone")
    desk.fill("#register-form input[name=password]", PASSWORD)
    desk.click("#register-form button[type=submit]")
    desk.wait_for_selector("#invite-codes li.invite")
    code = invite_codes(desk)[0]
    open_app(desk)

    # 10. Empty states say what to do next; icons are SVG; the whole name shows in the panel.
    desk.wait_for_selector(".empty-hint:has-text('No conversations yet')")
    assert "Add someone by their username" in desk.inner_text("#friend-list")
    for selector in (
        "a.rail-item[href='#/channels/@me']",
        "#create-server",
        "#join-server",
        "#settings-link",
    ):
        assert desk.locator(f"{selector} svg.icon").count() == 1, selector
    name = desk.locator("#me-name")
    assert name.inner_text() == "Alexandra Stone"
    assert name.evaluate(
        "(e) => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight"
    )
    desk.click("#create-server")
    create_width = box(desk, "dialog.modal")["width"]
    desk.keyboard.press("Escape")
    desk.click("#join-server")
    assert box(desk, "dialog.modal")["width"] == create_width
    desk.keyboard.press("Escape")
    desk.click("#create-server")
    desk.fill("dialog input[name=name]", "Pocket")
    desk.click("dialog button[type=submit]")
    desk.wait_for_selector("#chat-title:text-is('#welcome')")
    server_id, channel_id = current_ids(desk)
    for selector in (
        "#pins-button",
        "#mute-channel",
        "#attach-button",
        "#emoji-button",
        "#send-button",
    ):
        assert desk.locator(f"{selector} svg.icon").count() == 1, selector
    desk.click("#server-menu")
    desk.click("[data-action=invite]")
    desk.click("#invite-form button[type=submit]")
    link = desk.inner_text("#invite-link")
    desk.keyboard.press("Escape")

    # 2. The phone: registering, settings, the sign-in page, the app; never sideways.
    phone = console.attach(
        browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    )
    phone.set_default_timeout(TIMEOUT_MS)
    pages["phone"] = phone
    phone.goto(f"{base}/#/login")
    phone.wait_for_selector("#login-form")
    no_sideways(phone, "sign-in")
    register(phone, base, "pat", code)
    no_sideways(phone, "settings")
    open_app(phone)
    no_sideways(phone, "friends")
    # One pane: the rail and channel list wait in a drawer behind the menu button.
    assert not phone.locator(".rail").is_visible()
    assert not phone.locator(".sidebar").is_visible()
    assert box(phone, ".content")["width"] == PHONE["width"]
    toggle = box(phone, "#nav-toggle")
    assert min(toggle["width"], toggle["height"]) >= 40
    phone.click("#nav-toggle")
    phone.wait_for_selector(".rail", state="visible")
    assert phone.locator(".sidebar").is_visible()
    no_sideways(phone, "drawer")
    phone.click("#join-server")  # join from the drawer, with the link
    phone.fill("dialog input[name=code]", link)
    dialog = box(phone, "dialog.modal")
    assert dialog["x"] >= 0
    assert dialog["x"] + dialog["width"] <= PHONE["width"]
    no_sideways(phone, "dialog")
    phone.click("dialog button[type=submit]")
    phone.wait_for_selector("#chat-title:text-is('#welcome')")
    assert current_ids(phone) == (server_id, channel_id)
    assert not phone.locator(".sidebar").is_visible()  # the drawer closed on arrival

    # The conversation takes the width: long words, links and code wrap or scroll inside.
    send(desk, f"{LONG_WORD} {LONG_LINK}")
    send(desk, "```\n" + "x = " + "1 + " * 60 + "1\n```")
    message(phone, "Supercalifragilistic").wait_for()
    phone.locator(".message .body.rich pre").wait_for()
    body = box(phone, ".message .body")
    assert body["width"] >= 250  # words are not broken letter by letter
    no_sideways(phone, "conversation")
    for selector in (
        "#nav-toggle",
        "#members-toggle",
        "#attach-button",
        "#emoji-button",
        "#send-button",
    ):
        target = box(phone, selector)
        assert min(target["width"], target["height"]) >= 40, selector
    composer = box(phone, "#composer")
    assert composer["y"] + composer["height"] <= PHONE["height"]
    phone.click("#composer-input")
    phone.keyboard.type("from my phone")
    phone.click("#send-button")
    message(desk, "from my phone").wait_for()

    # The on-screen keyboard shrinks the visible height: the composer stays above it.
    phone.set_viewport_size({"width": 390, "height": 480})
    composer = box(phone, "#composer")
    assert composer["y"] + composer["height"] <= 480
    assert phone.locator("#composer-input").is_visible()
    phone.set_viewport_size(PHONE)

    # The members drawer, over the conversation; Escape closes it.
    phone.click("#members-toggle")
    members = phone.locator("#members-pane")
    members.wait_for(state="visible")
    assert members.locator(".member").count() == 2
    assert phone.locator("#members-pane .members-head").inner_text() == "Members — 2"
    assert phone.locator("#members-pane h3").count() == 0  # 10: one heading, no "Members" twice
    no_sideways(phone, "members drawer")
    phone.keyboard.press("Escape")
    members.wait_for(state="hidden")

    # Server settings in a phone-sized dialog.
    phone.click("#nav-toggle")
    phone.click("#server-menu")
    phone.click("[data-action=settings]")
    phone.wait_for_selector("dialog.modal [role=tablist]")
    no_sideways(phone, "server settings")
    phone.keyboard.press("Escape")

    assert console.errors == []
