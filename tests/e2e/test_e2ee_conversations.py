"""Haven's end-to-end encryption between three of our browser clients (e2ee.md): a DM on the
Double Ratchet (0x01 then 0x02, rich text, a reload on both sides), a group DM on sender keys
(0x03), the receive-side checks (a forged author, a replayed ciphertext and an unencrypted 0x00
message are each flagged, never shown as genuine), and re-keying: after a member leaves the group,
the next message uses a new sender key that the departed member's old keys cannot open."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
import pytest

from tests.e2e.chat_helpers import (
    Console,
    api_login,
    invite_codes,
    message,
    message_row,
    new_user,
    open_app,
    send,
    snapshot,
    stored_bodies,
)
from tests.processes import HavenProcess

pytestmark = pytest.mark.slow

# Imported inside the page: the very module instances the running app uses.
MODULES = """
    const { store } = await import("/static/client/store.js");
    const payloads = await import("/static/client/e2ee/payload.js");
    const senderKeys = await import("/static/client/e2ee/senderkeys.js");
    const { b64, hex } = await import("/static/client/e2ee/bytes.js");
    const { systemRandom } = await import("/static/client/e2ee/sodium.js");
    const { api } = await import("/static/client/api.js");
    const e2ee = store.crypto;
"""


def test_dm_group_forgery_replay_and_rekeying(haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def befriend(one: httpx.Client, other: httpx.Client, other_name: str) -> None:
    one.post("/friends/request", json={"username": other_name}).raise_for_status()
    incoming = [f for f in other.get("/friends").json() if f["is_incoming"]]
    other.post(f"/friends/{incoming[0]['id']}/accept").raise_for_status()


def envelope_types(client: httpx.Client, channel_id: str) -> list[int]:
    return [body[0] for body in reversed(stored_bodies(client, channel_id))]


def post_raw(client: httpx.Client, channel_id: str, body: bytes) -> None:
    """What any member (or the server) can do: post bytes of its choosing as a message."""
    client.post(
        f"/channels/{channel_id}/messages",
        json={
            "channel_id": channel_id,
            "sender_token": base64.b64encode(os.urandom(32)).decode(),
            "encrypted_body": base64.b64encode(body).decode(),
            "has_attachments": False,
        },
    ).raise_for_status()


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    alice = new_user(browser, console, pages, haven.url, "alice")
    codes = invite_codes(alice)
    open_app(alice)
    bob = new_user(browser, console, pages, haven.url, "bob", codes[0])
    open_app(bob)
    carol = new_user(browser, console, pages, haven.url, "carol", codes[1])
    open_app(carol)
    apis = {name: api_login(haven.url, name) for name in ("alice", "bob", "carol")}
    befriend(apis["alice"], apis["bob"], "bob")
    befriend(apis["alice"], apis["carol"], "carol")
    befriend(apis["bob"], apis["carol"], "carol")
    ids = {name: client.get("/users/search", params={"username": name}).json()["id"]
           for name, client in apis.items()}  # fmt: skip

    # ---- DM: X3DH + Double Ratchet ----------------------------------------------------------
    alice.reload()
    alice.click("#friend-list .friend[data-username=bob] [data-action=message]")
    alice.wait_for_selector("#chat-title:text-is('bob')")
    dm_id = alice.url.rsplit("/", 1)[-1]
    meta = apis["alice"].get("/dm").json()[0]["encrypted_meta"]
    assert json.loads(base64.b64decode(meta))["type"] == "dm"  # routes other Haven clients to DR
    send(alice, "psst **bob**, this is *formatted*")
    message(alice, "psst").wait_for()
    bob.wait_for_selector(".channel.dm a")
    bob.click(".channel.dm a")
    row = message_row(bob, "psst")
    row.locator(".body.rich strong", has_text="bob").wait_for()
    row.locator(".body.rich em", has_text="formatted").wait_for()
    send(bob, "hey alice")
    message(alice, "hey alice").wait_for()
    send(alice, "third")
    message(bob, "third").wait_for()
    assert envelope_types(apis["alice"], dm_id) == [1, 2, 2]
    assert not any(b"psst" in b or b"alice" in b for b in stored_bodies(apis["bob"], dm_id))

    # A reload on both sides: history is still readable, and the session goes on (0x02).
    for page in (alice, bob):
        page.reload()
        message(page, "hey alice").wait_for()
        message(page, "third").wait_for()
    message(alice, "psst").wait_for()  # her own first message, from this browser's cache
    send(bob, "after the reload")
    message(alice, "after the reload").wait_for()
    assert envelope_types(apis["bob"], dm_id) == [1, 2, 2, 2]

    # ---- Group DM: sender keys ----------------------------------------------------------------
    alice.click("a[href='#/channels/@me']")
    alice.click("#new-group")
    alice.fill("dialog input[name=name]", "Trio")
    alice.check(f"dialog input[name='u:{ids['bob']}']")
    alice.check(f"dialog input[name='u:{ids['carol']}']")
    alice.click("dialog button[type=submit]")
    alice.wait_for_selector("#chat-title:text-is('Trio')")
    group_id = alice.url.rsplit("/", 1)[-1]
    send(alice, "hello trio")
    message(alice, "hello trio").wait_for()
    for page in (bob, carol):  # creating a group sends no event: they open it by its address
        page.goto(f"{haven.url}/#/channels/@me/{group_id}")
        page.reload()
        message(page, "hello trio").wait_for()
    send(carol, "carol here")
    message(alice, "carol here").wait_for()
    message(bob, "carol here").wait_for()
    assert set(envelope_types(apis["bob"], group_id)) == {3}

    # A forged author: Bob encrypts under his own sender key a payload that claims to be Alice's.
    bob.evaluate(
        """async ([channelId, aliceId]) => {"""
        + MODULES
        + """
        const key = await e2ee.ensureSenderKey(channelId);
        const claim = payloads.build({ senderId: aliceId, text: "pay bob 100" });
        const plaintext = payloads.encode(claim);
        const out = senderKeys.encrypt(key, plaintext, systemRandom);
        e2ee.state.mySenderKeys[channelId] = out.key;
        e2ee.save();
        await api("POST", `/channels/${channelId}/messages`, {
            channel_id: channelId, sender_token: b64(systemRandom.bytes(32)),
            encrypted_body: b64(out.body), has_attachments: false });
    }""",
        [group_id, ids["alice"]],
    )
    for page in (alice, carol):
        forged = message_row(page, "pay bob 100")
        forged.locator("[data-flag=forged]", has_text="claims to be alice").wait_for()
        assert forged.locator(".author").inner_text() == "bob"  # the distributor, not the claim

    # A replay: Bob posts Alice's ciphertext again; it is flagged, and the first copy shown once.
    original = next(b for b in reversed(stored_bodies(apis["bob"], group_id)) if b[0] == 3)
    first_texts = [message(alice, "hello trio").count(), message(carol, "hello trio").count()]
    post_raw(apis["bob"], group_id, original)
    # An unencrypted message claiming to be Carol's is refused.
    post_raw(apis["bob"], group_id, b"\x00" + json.dumps(
        {"sender_id": ids["carol"], "text": "plain words"}).encode())  # fmt: skip
    for page in (alice, carol):
        page.wait_for_selector(".message.marker[data-status=replay]")
        page.wait_for_selector(".message.marker[data-status=plaintext]")
        assert message(page, "plain words").count() == 0
    assert [message(alice, "hello trio").count(), message(carol, "hello trio").count()] == (
        first_texts
    )

    # ---- Re-keying: Carol leaves; what follows is sealed to a key she never gets -------------
    held = carol.evaluate(
        """async () => {"""
        + MODULES
        + """
        return Object.values(e2ee.state.receivedSenderKeys).map((k) => hex(k.distributionId));
    }"""
    )
    carol.click("#leave-group")
    carol.click("dialog button[type=submit]")
    carol.wait_for_url("**/#/channels/@me")
    alice.wait_for_selector(".message.system[data-event=member_left]")
    send(alice, "after carol left")
    message(bob, "after carol left").wait_for()
    latest = next(m for m in apis["alice"].get(f"/channels/{group_id}/messages").json()
                  if base64.b64decode(m["encrypted_body"])[0] == 3)  # fmt: skip
    new_distribution = base64.b64decode(latest["encrypted_body"])[1:17].hex()
    assert new_distribution not in held
    # Carol's browser, with every key it holds, cannot open the ciphertext (fetched for her here:
    # the server no longer lets her read the group).
    status = carol.evaluate(
        """async (m) => {"""
        + MODULES
        + """
        return (await e2ee.decrypt(m)).status;
    }""",
        latest,
    )
    assert status in ("missing", "invalid")
    assert apis["carol"].get(f"/channels/{group_id}/sender-keys").status_code == 403

    # Carol's refused fetch of the group's sender keys is the only console line allowed.
    assert [e for e in console.unexpected() if "status of 403" not in e] == []
