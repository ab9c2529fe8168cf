"""Voice and calls in two browsers, up to the LiveKit token. LiveKit cannot run here, so the Haven
process is configured with a LiveKit URL on an unused loopback port: joining shows the user in the
channel for both users (VoiceStateUpdate), the failed media connection shows as a non-fatal "Could
not connect to the voice server." state, server mute reaches both, leaving removes the user. A DM
call rings, is declined, rings again, is accepted (both join the DM's voice room) and is hung up.

The only console errors allowed are the browser's own lines for the refused connections to that
unused port (the SDK's WebSocket and its follow-up HTTP check); no script error, no SDK log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.chat_helpers import Console, api_login, server_pair, snapshot
from tests.e2e.conftest import backends
from tests.processes import HavenProcess, free_port, manage

pytestmark = pytest.mark.slow

LIVEKIT_PORT = free_port()  # nothing listens here


@pytest.fixture(scope="module")
def voice_haven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HavenProcess]:
    server = HavenProcess(
        tmp_path_factory.mktemp("haven-voice"),
        {
            **backends(),
            "REGISTRATION_INVITE_ONLY": "true",
            "POW_DIFFICULTY": "8",
            "RATE_LIMITS_ENABLED": "false",
            "LIVEKIT_URL": f"ws://127.0.0.1:{LIVEKIT_PORT}",
            "LIVEKIT_API_KEY": "devkey",
            "LIVEKIT_API_SECRET": "a-livekit-secret-that-is-long-enough-for-hs256",
            "LIVEKIT_TOKEN_TTL_SECS": "10",  # the client renews after 6 s
        },
    )
    server.manage("migrate", "--noinput")
    yield server.start()
    server.stop()


def livekit_noise(console: Console, refused: str = "^$") -> list[str]:
    """Console errors other than the browser's reports of the refused LiveKit connections (and
    of the refused responses whose address matches ``refused``)."""
    port = re.escape(f"127.0.0.1:{LIVEKIT_PORT}")
    socket_failed = re.compile(rf"^WebSocket connection to 'ws://{port}/rtc.*' failed")
    return [
        text
        for text, source in zip(console.errors, console.sources, strict=True)
        if not socket_failed.search(text)
        and not (text.startswith("Failed to load resource") and re.search(port, source))
        and not (text.startswith("Failed to load resource") and re.search(refused, source))
    ]


def test_voice_channel_and_dm_call(voice_haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        scenario(voice_haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def scenario(haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]) -> None:
    owner, member, server_id, _ = server_pair(
        browser, console, pages, haven.url, ("ivy", "jay"), "Voices"
    )
    jay_id = member.evaluate("JSON.parse(localStorage.getItem('haven.session')).user.id")
    ivy_id = owner.evaluate("JSON.parse(localStorage.getItem('haven.session')).user.id")

    # A voice channel.
    owner.click("#server-menu")
    owner.click("[data-action=create-channel]")
    owner.fill("dialog input[name=name]", "Lounge")
    owner.select_option("dialog select[name=channel_type]", "voice")
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#Lounge')")
    member.click(".channel a:has-text('Lounge')")
    member.wait_for_selector("#voice-participants:has-text('Nobody is here yet.')")

    # Ivy joins: she is in the roster on both sides; her media connection fails, non-fatally.
    owner.click("#voice-join")
    owner.wait_for_selector(
        "#voice-state[data-state=failed]:has-text('Could not connect to the voice server.')"
    )
    owner.wait_for_selector(f"#voice-participants [data-user-id='{ivy_id}']")
    member.wait_for_selector(f"#voice-participants [data-user-id='{ivy_id}']")
    member.wait_for_selector(f".voice-roster [data-user-id='{ivy_id}']")  # the sidebar too
    owner.wait_for_selector("#voice-bar:has-text('Lounge')")

    # Jay joins; Ivy (the owner: MUTE_MEMBERS) server-mutes him; both see it.
    member.click("#voice-join")
    member.wait_for_selector("#voice-state[data-state=failed]")
    owner.wait_for_selector(f"#voice-participants [data-user-id='{jay_id}']")
    owner.click(f"#voice-participants [data-user-id='{jay_id}'] [data-action=server-mute]")
    member.wait_for_selector(f"#voice-participants [data-user-id='{jay_id}'] .badge-muted")
    member.wait_for_selector("#voice-state:has-text('muted by a moderator')")
    assert member.locator("#voice-participants [data-action=server-mute]").count() == 0
    member.click("#voice-mute")  # his own microphone switch
    member.wait_for_selector("#voice-mute[aria-pressed=true]")
    member.click("#voice-retry")  # another attempt, failing the same way
    member.wait_for_selector("#voice-state[data-state=failed]")

    # Jay leaves: gone for Ivy. Ivy leaves from the voice bar: the channel is empty for Jay.
    member.click("#voice-leave")
    owner.wait_for_selector(f"#voice-participants [data-user-id='{jay_id}']", state="detached")
    owner.click("#voice-bar-leave")
    member.wait_for_selector("#voice-participants:has-text('Nobody is here yet.')")
    owner.wait_for_selector("#voice-bar", state="hidden")

    # A DM call: friends (over the API), Ivy opens the DM from Jay's profile card.
    ivy_api, jay_api = api_login(haven.url, "ivy"), api_login(haven.url, "jay")
    ivy_api.post("/friends/request", json={"username": "jay"}).raise_for_status()
    request_id = jay_api.get("/friends").json()[0]["id"]
    jay_api.post(f"/friends/{request_id}/accept").raise_for_status()
    owner.click(f".rail-item[data-server-id='{server_id}']")
    owner.click(f".member[data-user-id='{jay_id}'] .member-name")
    owner.click("dialog button:has-text('Message')")
    owner.wait_for_selector("#chat-title:text-is('jay')")

    # First ring: declined.
    owner.click("#call-button")
    owner.wait_for_selector("#call-status:has-text('Calling jay')")
    member.wait_for_selector("#call-status:has-text('ivy is calling')")
    member.click("#call-decline")
    owner.wait_for_selector("#call-status:has-text('Call declined.')")
    member.wait_for_selector("#call-layer", state="hidden")

    # Second ring: accepted. Both are in the DM's voice room (failing to reach LiveKit).
    owner.click("#call-button")
    member.click("#call-accept")
    for page in (owner, member):
        page.wait_for_selector("#call-status:has-text('In call with')")
        page.wait_for_selector("#voice-bar-state[data-state=failed]")
        page.wait_for_selector("#call-participants:has-text('ivy')")
        page.wait_for_selector("#call-participants:has-text('jay')")

    # Ivy hangs up: the call ends for both, the voice sessions close, the DM records it.
    owner.click("#call-hangup")
    member.wait_for_selector("#call-status:has-text('Call ended.')")
    for page in (owner, member):
        page.wait_for_selector("#voice-bar", state="hidden")
    owner.wait_for_selector(".message.system[data-event=call_ended]")
    assert jay_api.get(f"/voice/{owner.url.rsplit('/', 1)[-1]}/participants").json() == []

    assert livekit_noise(console) == []


def test_voice_token_renewal_and_access_that_ends(voice_haven: HavenProcess, browser: Any) -> None:
    console = Console()
    pages: dict[str, Any] = {}
    try:
        renewal_scenario(voice_haven, browser, console, pages)
    except BaseException:
        snapshot(pages, console)
        raise


def renewal_scenario(
    haven: HavenProcess, browser: Any, console: Console, pages: dict[str, Any]
) -> None:
    code = manage("issue_invites", env=haven.env).stdout.strip()  # kim may not be the first user
    owner, member, server_id, _ = server_pair(
        browser, console, pages, haven.url, ("kim", "lee"), "Renewals", owner_code=code
    )
    lee_id = member.evaluate("JSON.parse(localStorage.getItem('haven.session')).user.id")
    owner.click("#server-menu")
    owner.click("[data-action=create-channel]")
    owner.fill("dialog input[name=name]", "Hall")
    owner.select_option("dialog select[name=channel_type]", "voice")
    owner.click("dialog button[type=submit]")
    owner.wait_for_selector("#chat-title:text-is('#Hall')")
    hall = owner.url.rsplit("/", 1)[-1]
    member.click(".channel a:has-text('Hall')")
    in_hall = f"#voice-participants [data-user-id='{lee_id}']"

    def renewal(response: Any) -> bool:
        return bool(response.url.endswith(f"/voice/{hall}/token"))

    # Lee joins; while he stays allowed, the client renews the 10 s token before it expires.
    member.click("#voice-join")
    member.wait_for_selector("#voice-state[data-state=failed]")
    with member.expect_response(renewal, timeout=15_000) as renewed:
        pass
    assert renewed.value.status == 200
    assert renewed.value.json()["channel_id"] == hall

    # A refused renewal (as when his access ended) leaves: the bar goes, Kim sees him go.
    member.route(
        f"**/api/v1/voice/{hall}/token",
        lambda route: route.fulfill(
            status=403,
            content_type="application/json",
            body='{"error": "Not a member of this channel", "status": 403}',
        ),
    )
    member.wait_for_selector("#voice-bar", state="hidden", timeout=15_000)
    owner.wait_for_selector(in_hall, state="detached")
    member.unroute(f"**/api/v1/voice/{hall}/token")

    # Lee joins again; a timeout takes him out at once (no waiting for the token to expire).
    member.click("#voice-join")
    owner.wait_for_selector(in_hall)
    kim_api = api_login(haven.url, "kim")
    kim_api.put(
        f"/servers/{server_id}/members/{lee_id}/timeout", json={"duration_seconds": 600}
    ).raise_for_status()
    member.wait_for_selector("#voice-bar", state="hidden")
    owner.wait_for_selector(in_hall, state="detached")
    member.click("#voice-join")  # refused while timed out
    member.wait_for_selector("[role=alert]:has-text('You are timed out in this server')")
    assert livekit_noise(console, refused=rf"/api/v1/voice/{hall}/(token|join)$") == []
