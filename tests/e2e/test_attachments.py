"""Encrypted attachments in two browsers: a 2.5 MiB file picked with the file button is downloaded
by the other user with identical bytes, while the server holds only ciphertext (one
crypto_secretbox, e2ee.md 7); an image dropped onto the conversation shows inline (decrypted to a
blob: URL); a file above the server's upload limit is refused with the API's error text."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.chat_helpers import (
    Console,
    api_login,
    message,
    png_bytes,
    send,
    server_pair,
    snapshot,
    stored_bodies,
)
from tests.e2e.conftest import backends
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

UPLOAD_LIMIT = 4 * 1024 * 1024
MARKER = b"HAVEN-PLAINTEXT-MARKER "


@pytest.fixture(scope="module")
def files_haven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    server = HavenProcess(
        tmp_path_factory.mktemp("haven-files"),
        {
            **backends(),
            "REGISTRATION_INVITE_ONLY": "true",
            "POW_DIFFICULTY": "8",
            "RATE_LIMITS_ENABLED": "false",
            "MAX_UPLOAD_SIZE_BYTES": str(UPLOAD_LIMIT),
        },
    )
    server.manage("migrate", "--noinput")
    yield server.start()
    server.stop()


def test_encrypted_attachments(files_haven: HavenProcess, browser: Any, tmp_path: Path) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(files_haven, browser, console, pages, tmp_path)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(
    haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any], tmp: Path
) -> None:
    owner, member, _, channel_id = server_pair(browser, console, pages, haven.url, ("ann", "ben"))

    # A file of 2.5 MiB: a recognisable plaintext, then random bytes.
    original = MARKER * 4096 + os.urandom(int(2.5 * 1024 * 1024) - len(MARKER) * 4096)
    owner.set_input_files(
        "#file-input",
        files=[{"name": "report.bin", "mimeType": "application/octet-stream", "buffer": original}],
    )
    owner.wait_for_selector("#pending-files .pending-file[data-name='report.bin']")
    send(owner, "the quarterly numbers")
    message(owner, "the quarterly numbers").wait_for()
    owner.wait_for_selector("#pending-files", state="hidden")

    card = member.locator(".message", has=member.locator(".body", has_text="the quarterly numbers"))
    card.locator(".attachment .file-name", has_text="report.bin").wait_for()
    assert card.locator(".file-size").inner_text() == "2.5 MB"
    with member.expect_download() as download_info:
        card.locator("[data-action=download]").click()
    download = download_info.value
    assert download.suggested_filename == "report.bin"
    saved = tmp / "report.bin"
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(original).hexdigest()

    # What the server stores: one secretbox (16-byte MAC + ciphertext) and a message body without
    # the file's name or key.
    attachment_id = card.locator(".attachment").get_attribute("data-attachment-id")
    client = api_login(haven.url, "ben")
    blob = client.get(f"/attachments/{attachment_id}").content
    assert len(blob) == 16 + len(original)
    assert MARKER not in blob
    assert original[-4096:] not in blob
    bodies = stored_bodies(client, channel_id)
    assert not any(b"report.bin" in b or b"quarterly" in b for b in bodies)

    # An image dropped onto the conversation (drag and drop) shows inline for the other user.
    image = png_bytes(64, 48)
    transfer = owner.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "sunset.png", { type: "image/png" }));
            return data;
        }""",
        base64.b64encode(image).decode(),
    )
    owner.dispatch_event(".chat", "dragover", {"dataTransfer": transfer})
    owner.dispatch_event(".chat", "drop", {"dataTransfer": transfer})
    owner.wait_for_selector("#pending-files .pending-file[data-name='sunset.png']")
    send(owner, "a picture")
    picture = member.locator(".message", has=member.locator(".body", has_text="a picture"))
    img = picture.locator("img.attachment-image")
    img.wait_for()
    member.wait_for_function(
        "(el) => el.complete && el.naturalWidth === 64 && el.naturalHeight === 48",
        arg=img.element_handle(),
    )
    assert str(img.get_attribute("src")).startswith("blob:")
    owner.locator(".message", has=owner.locator(".body", has_text="a picture")).locator(
        "img.attachment-image"
    ).wait_for()  # the sender sees it too

    # Above the server's limit: refused, with the API's error text; the words stay in the box.
    owner.set_input_files(
        "#file-input",
        files=[{"name": "huge.bin", "mimeType": "application/octet-stream",
                "buffer": b"\0" * (UPLOAD_LIMIT + 1)}],
    )  # fmt: skip
    send(owner, "too big")
    owner.wait_for_selector(".notice.error:has-text('Could not upload huge.bin')")
    notice = owner.inner_text(".notice.error")
    assert "length limit exceeded" in notice or "too large" in notice.lower(), notice
    assert owner.input_value("#composer-input") == "too big"
    owner.wait_for_selector(".pending-file.failed[data-name='huge.bin']")

    # The only console error: the browser's own line for the refused upload (413).
    unexpected = [e for e in console.errors if "status of 413" not in e]
    assert unexpected == []
