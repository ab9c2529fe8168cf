"""The conversation as a daily driver (issue 13, items 1, 4 and 9), two people in one server:

1. typing at human speed right after Enter loses nothing (the box is cleared at send);
4. rich text typed as Markdown arrives formatted (and sender HTML stays text), the emoji picker
   in the composer and for reactions, an image opened in a lightbox, date dividers, "jump to
   present" while scrolled up, and sending while scrolled up jumps to the message;
9. keyboard: actions reachable on every message, Up edits one's last message, Escape, Alt+Down
   and Ctrl+K between channels, the skip link, focus kept across a redraw."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    Console,
    message,
    message_row,
    png_bytes,
    send,
    server_pair,
    snapshot,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

HUMAN_MS = 60  # between keystrokes: a quick typist


def test_composer_rich_text_and_keyboard(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def bodies(page: Any) -> list[str]:
    return [str(t) for t in page.locator(".message:not(.system) .body").all_inner_texts()]


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    ana, ben, _, _ = server_pair(browser, console, pages, haven.url, ("ana", "ben"), "Daily")
    ben.set_viewport_size({"width": 1100, "height": 560})  # a short list: it scrolls

    # 1. Enter, then at once the next words at human speed: nothing typed is lost, order kept.
    ana.click("#composer-input")
    words = ["first", "ok", "sure thing", "see you", "yes", "on my way", "k", "done", "great"]
    for word in words:
        ana.keyboard.type(word, delay=HUMAN_MS)
        ana.keyboard.press("Enter")
    ben.wait_for_function(
        f"() => document.querySelectorAll('.message:not(.system) .body').length >= {len(words)}"
    )
    assert bodies(ben) == words
    assert ana.input_value("#composer-input") == ""

    # 4. Markdown becomes rich text for the reader; HTML from the sender stays text.
    send(
        ana,
        "**bold** _slanted_ `code` ||hidden||\n- one\n- two\n1. first\n2. second\n> quoted"
        "\n```\nlet x = 1;\n```\n<b>raw</b><img src=x>",
    )
    rich = ben.locator(".message .body.rich").last
    rich.locator("strong", has_text="bold").wait_for()
    assert rich.locator("em").inner_text() == "slanted"
    assert rich.locator("code").first.inner_text() == "code"
    assert rich.locator(".spoiler").inner_text() == "hidden"
    assert rich.locator("ul li").all_inner_texts() == ["one", "two"]
    assert rich.locator("ol li").all_inner_texts() == ["first", "second"]
    assert rich.locator("blockquote").inner_text() == "quoted"
    assert rich.locator("pre").inner_text() == "let x = 1;"
    assert rich.locator("img").count() == 0
    assert rich.locator("b").count() == 0
    assert "<b>raw</b><img src=x>" in rich.inner_text()

    # The emoji picker in the composer (search, Enter picks) and for reactions.
    ben.click("#emoji-button")
    ben.fill("#emoji-search", "tada")
    ben.press("#emoji-search", "Enter")
    ben.wait_for_function("() => document.querySelector('#composer-input').value === '🎉'")
    assert ben.evaluate("document.activeElement.id") == "composer-input"
    ben.keyboard.type(" party", delay=HUMAN_MS)
    ben.keyboard.press("Enter")
    message(ana, "🎉 party").wait_for()
    row = message_row(ben, "done")
    row.hover()
    row.locator("[data-action=react]").click()
    ben.click("[data-action=more-emojis]")
    ben.fill("#emoji-search", "fire")
    ben.click("#emoji-grid .emoji-choice[data-emoji='🔥']")
    message_row(ana, "done").locator(".reaction", has_text="🔥 1").wait_for()

    # An image opens in a lightbox (the decrypted blob, full size); Escape closes it.
    ana.set_input_files(
        "#file-input",
        files=[{"name": "view.png", "mimeType": "image/png", "buffer": png_bytes(120, 80)}],
    )
    send(ana, "the view")
    picture = message_row(ben, "the view")
    picture.locator("img.attachment-image").wait_for()
    picture.locator("[data-action=open-image]").click()
    big = ben.locator("dialog.lightbox img.lightbox-image")
    big.wait_for()
    assert str(big.get_attribute("src")).startswith("blob:")
    ben.keyboard.press("Escape")
    big.wait_for(state="detached")

    # One date divider for today's messages.
    assert ben.locator(".date-divider").all_inner_texts() == ["Today"]

    # Scrolled up, new messages show "jump to present"; the button (or Escape) goes there.
    scroll_top = "() => { document.querySelector('#messages').scrollTop = 0; }"
    at_end = (
        "() => { const l = document.querySelector('#messages');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight < 80; }"
    )
    ben.evaluate(scroll_top)
    send(ana, "while you were away")
    ben.locator("#jump-bar:has-text('1 new message')").wait_for()
    assert not ben.evaluate(at_end)
    ben.click("#jump-present")
    ben.wait_for_function(at_end)
    assert ben.locator("#jump-bar").is_hidden()
    ben.evaluate(scroll_top)
    send(ana, "and once more")
    ben.locator("#jump-bar").wait_for()
    with ben.expect_request(lambda r: r.method == "PUT" and r.url.endswith("/read-state")):
        ben.press("#composer-input", "Escape")
    ben.wait_for_function(at_end)
    assert ben.locator("#jump-bar").is_hidden()
    # Sending while scrolled up jumps to one's own message.
    ben.evaluate(scroll_top)
    send(ben, "my reply from above")
    message(ben, "my reply from above").wait_for()
    ben.wait_for_function(at_end)

    # 9. Every message has its actions, reachable from the keyboard (grouped ones included).
    rows = ben.locator(".message:not(.system)")
    assert rows.count() >= len(words) + 5
    for i in range(rows.count()):
        assert rows.nth(i).locator(".actions button").count() >= 2, i
    ben.focus("#messages")
    ben.keyboard.press("ArrowUp")  # the newest message (ben's), then the one before
    ben.keyboard.press("ArrowUp")
    focused = ben.evaluate(
        "document.activeElement.closest('.message').querySelector('.body').innerText"
    )
    assert focused == "and once more"  # a message grouped under the previous one
    ben.keyboard.press("Tab")
    assert ben.evaluate("document.activeElement.dataset.action") == "reply"
    ben.keyboard.press("Enter")
    ben.locator(".reply-bar:has-text('Replying to ana')").wait_for()
    ben.press("#composer-input", "Escape")
    assert ben.locator(".reply-bar").is_hidden()

    # Focus survives a redraw: on a message's action while a new message arrives.
    target = message_row(ben, "while you were away")
    target.focus()
    ben.keyboard.press("Tab")
    ben.keyboard.press("Tab")
    action = ben.evaluate("document.activeElement.dataset.action")
    assert action == "react"
    send(ana, "a redraw")
    message(ben, "a redraw").wait_for()
    assert ben.evaluate(
        "[document.activeElement.dataset.action,"
        " document.activeElement.closest('.message').querySelector('.body').innerText]"
    ) == ["react", "while you were away"]

    # Up in the empty composer edits one's last message.
    ben.click("#composer-input")
    ben.keyboard.press("ArrowUp")
    ben.wait_for_selector(".edit-input")
    assert ben.input_value(".edit-input") == "my reply from above"
    ben.fill(".edit-input", "my reply, edited")
    ben.press(".edit-input", "Enter")
    message(ana, "my reply, edited").wait_for()
    assert ben.evaluate("document.activeElement.id") == "composer-input"

    # A second channel: Alt+Down goes there, Ctrl+K back; the skip link reaches the composer.
    ana.click("#server-menu")
    ana.click("[data-action=create-channel]")
    ana.fill("dialog input[name=name]", "second")
    ana.click("dialog button[type=submit]")
    ana.wait_for_selector("#chat-title:text-is('#second')")
    ben.wait_for_selector(".channel a:has-text('second')")
    ben.keyboard.press("Alt+ArrowDown")
    ben.wait_for_selector("#chat-title:text-is('#second')")
    ben.keyboard.press("Control+k")
    ben.fill("#switcher-input", "welc")
    ben.keyboard.press("Enter")
    ben.wait_for_selector("#chat-title:text-is('#welcome')")
    ben.focus(".rail .rail-item")  # the skip links come before it, first in the tab order
    for _ in range(3):
        ben.keyboard.press("Shift+Tab")
    assert ben.evaluate("document.activeElement.id") == "skip-to-composer"
    assert ben.locator("#skip-to-composer").is_visible()  # shown while focused
    ben.keyboard.press("Enter")
    assert ben.evaluate("document.activeElement.id") == "composer-input"

    assert console.errors == []
