"""Access taken away ends at once on the socket, live and on resume (docs/realtime.md, "Access").

Resume re-checks every group of the saved session, hands its groups over to the re-Subscribe
without a gap, a revoked login session ends its sockets and their every operation, and blocks
stop presence and typing between two people."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from accounts.authentication import user_for_token
from chat.permissions import Permission
from realtime.replay import Appended
from realtime.store import get_store
from tests.chat.gateway.conftest import Ws
from tests.factories import (
    make_dm,
)
from tests.helpers import Api, TestUser, b64

pytestmark = pytest.mark.django_db(transaction=True)


def _server_over_rest(api: Api) -> dict[str, str]:
    """alice's server (its welcome channel and a second text channel), bob joined by invite."""
    owner = api.as_("alice")
    server = owner.post("/api/v1/servers", {"encrypted_meta": b64(b"meta")}).json()
    second = owner.post(
        f"/api/v1/servers/{server['id']}/channels",
        {"encrypted_meta": b64(b"second"), "channel_type": "text"},
    ).json()
    invite = owner.post(f"/api/v1/servers/{server['id']}/invites", {}).json()
    assert api.as_("bob").post(f"/api/v1/invites/{invite['code']}/join").status_code == 200
    return {"id": server["id"], "first": server["system_channel_id"], "second": second["id"]}


@pytest.fixture
async def world(users: dict[str, TestUser], api: Api) -> dict[str, str]:
    return await sync_to_async(_server_over_rest)(api)


async def _connect(user: TestUser) -> Ws:
    ws = Ws(user.access_token)
    await ws.open()
    return ws


def _send(channel: str, text: str) -> dict[str, Any]:
    return {
        "type": "SendMessage",
        "payload": {
            "channel_id": channel,
            "sender_token": b64(b"token"),
            "encrypted_body": b64(text.encode()),
        },
    }


async def _say(ws: Ws, channel: str, text: str) -> None:
    """SendMessage, waiting for its MessageAck (other frames are skipped)."""
    await ws.send(_send(channel, text))
    while (await ws.recv())["type"] != "MessageAck":
        pass


def _texts(frames: list[dict[str, Any]]) -> list[str]:
    out = []
    for frame in frames:
        if frame["type"] == "NewMessage":
            body = base64.b64decode(frame["payload"]["encrypted_body"])
            try:
                json.loads(body)  # system messages are JSON; user messages here are not
            except ValueError:
                out.append(body.decode())
    return out


async def _resume(ws: Ws, session_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Resume; the replayed frames and the closing Resumed (or InvalidSession) frame."""
    await ws.send({"type": "Resume", "payload": {"session_id": session_id}})
    frames: list[dict[str, Any]] = []
    while True:
        frame = await ws.recv()
        if frame["type"] in ("Resumed", "InvalidSession"):
            return frames, frame
        frames.append(frame)


async def _frames(ws: Ws) -> list[dict[str, Any]]:
    """What the connection received so far (after a Ping round trip)."""
    await ws.sync()
    return ws.pending


async def _next(ws: Ws, event_type: str, user_id: str | None = None) -> dict[str, Any]:
    """The next frame of this type (about this user), skipping others."""
    while True:
        frame = await ws.recv()
        if frame["type"] == event_type and user_id in (None, frame["payload"].get("user_id")):
            return frame


async def _texts_received(ws: Ws, count: int) -> list[str]:
    """The next ``count`` user messages (doorbells over Redis may trail a Pong), then checks
    that nothing more arrives."""
    texts: list[str] = []
    while len(texts) < count:
        texts += _texts([await ws.recv()])
    await ws.sync()
    texts += _texts(ws.pending)
    return texts


# --- 1. Resume re-checks access ---------------------------------------------------------------


async def test_ban_while_disconnected_then_two_resumes_replay_nothing_of_the_server(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    bob = await _connect(users["bob"])
    await bob.subscribe(world["first"])
    await bob.close()
    ban = await sync_to_async(api.as_("alice").post)(
        f"/api/v1/servers/{world['id']}/bans/{users['bob'].id}", {}
    )
    assert ban.status_code == 200, ban
    alice = await _connect(users["alice"])
    await _say(alice, world["first"], "after the ban")

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert end["type"] == "Resumed"
    assert _texts(replayed) == []
    assert [f["type"] for f in replayed] == ["MemberBanned"]  # addressed to bob himself
    await _say(alice, world["first"], "later still")
    # The same old session id again: taken, so nothing more (no endless poll).
    replayed, end = await _resume(again, bob.session_id)
    assert (replayed, end) == ([], {"type": "Resumed", "payload": {"replayed_count": 0}})
    await again.send({"type": "Subscribe", "payload": {"channel_id": world["first"]}})
    assert (await again.expect("Error"))["payload"] == {"message": "Not a member of this channel"}
    assert _texts(await _frames(again)) == []
    await again.close()
    await alice.close()


async def test_channel_hidden_by_an_overwrite_while_disconnected_is_not_replayed(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    bob = await _connect(users["bob"])
    await bob.subscribe(world["second"])
    await bob.close()
    hide = await sync_to_async(api.as_("alice").put)(
        f"/api/v1/channels/{world['second']}/overwrites",
        {
            "target_type": "member",
            "target_id": users["bob"].id,
            "allow_bits": "0",
            "deny_bits": str(int(Permission.VIEW_CHANNELS)),
        },
    )
    assert hide.status_code == 200, hide
    alice = await _connect(users["alice"])
    await _say(alice, world["second"], "secret")

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert end == {"type": "Resumed", "payload": {"replayed_count": len(replayed)}}
    assert _texts(replayed) == []
    assert all(f["type"] != "NewMessage" for f in replayed), replayed
    await again.close()
    await alice.close()


async def test_access_lost_and_regained_while_away_cannot_be_resumed(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    """Kicked and back by invite while disconnected: what was said in between must not be
    replayed, and the session cannot be resumed exactly, so InvalidSession (a REST re-fetch)."""
    bob = await _connect(users["bob"])
    await bob.subscribe(world["first"])
    await bob.close()
    owner = api.as_("alice")
    kick = await sync_to_async(owner.delete)(
        f"/api/v1/servers/{world['id']}/members/{users['bob'].id}"
    )
    assert kick.status_code == 200, kick
    alice = await _connect(users["alice"])
    await _say(alice, world["first"], "while bob was out")
    invite = (await sync_to_async(owner.post)(f"/api/v1/servers/{world['id']}/invites", {})).json()
    joined = await sync_to_async(api.as_("bob").post)(f"/api/v1/invites/{invite['code']}/join")
    assert joined.status_code == 200

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert end == {"type": "InvalidSession"}
    assert _texts(replayed) == []
    await again.close()
    await alice.close()


async def test_a_group_dm_left_while_disconnected_is_not_replayed(
    users: dict[str, TestUser], api: Api
) -> None:
    ids = [uuid.UUID(users[n].id) for n in ("alice", "bob", "carol")]
    group = {"id": str((await sync_to_async(make_dm)(*ids, group=True)).id)}
    bob = await _connect(users["bob"])
    await bob.subscribe(group["id"])
    await bob.close()
    left = await sync_to_async(api.as_("bob").delete)(f"/api/v1/channels/{group['id']}/leave")
    assert left.status_code in (200, 204), left
    alice = await _connect(users["alice"])
    await _say(alice, group["id"], "bob is gone")

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert end["type"] == "Resumed"
    assert _texts(replayed) == []
    await again.close()
    await alice.close()


# --- 2. No gap between Resumed and Subscribe ----------------------------------------------------


async def test_an_event_between_resumed_and_subscribe_arrives_once_in_order(
    users: dict[str, TestUser], world: dict[str, str]
) -> None:
    bob = await _connect(users["bob"])
    await bob.subscribe(world["first"])
    await bob.close()
    alice = await _connect(users["alice"])
    await _say(alice, world["first"], "one")

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert end["type"] == "Resumed"
    assert _texts(replayed) == ["one"]
    await _say(alice, world["first"], "two")  # after Resumed, before the re-Subscribe
    await _say(alice, world["first"], "three")
    await again.subscribe(world["first"])
    await _say(alice, world["first"], "four")  # live
    assert await _texts_received(again, 3) == ["two", "three", "four"]
    await again.close()
    await alice.close()


async def test_a_fresh_subscribe_after_resume_does_not_replay_other_channels(
    users: dict[str, TestUser], world: dict[str, str]
) -> None:
    """Only the resumed session's own channels continue; any other starts at its present."""
    bob = await _connect(users["bob"])
    await bob.subscribe(world["first"])
    await bob.close()
    alice = await _connect(users["alice"])
    again = await _connect(users["bob"])
    await _resume(again, bob.session_id)
    await _say(alice, world["second"], "before subscribing")
    await again.subscribe(world["second"])
    await _say(alice, world["second"], "after subscribing")
    assert await _texts_received(again, 1) == ["after subscribing"]
    await again.close()
    await alice.close()


async def test_access_changed_between_resumed_and_subscribe_is_not_continued(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    """Hidden and shown again between Resumed and the re-Subscribe: the message said while
    hidden is never delivered; the continuation is refused like an unfillable hole (1013), so
    the client's next resume answers InvalidSession and it re-fetches."""
    bob = await _connect(users["bob"])
    await bob.subscribe(world["second"])
    await bob.close()
    again = await _connect(users["bob"])
    await _resume(again, bob.session_id)
    overwrite = f"/api/v1/channels/{world['second']}/overwrites"
    owner = api.as_("alice")
    deny = {"target_type": "member", "target_id": users["bob"].id, "allow_bits": "0"}
    hidden = await sync_to_async(owner.put)(
        overwrite, {**deny, "deny_bits": str(int(Permission.VIEW_CHANNELS))}
    )
    assert hidden.status_code == 200
    alice = await _connect(users["alice"])
    await _say(alice, world["second"], "while hidden")
    shown = await sync_to_async(owner.put)(overwrite, {**deny, "deny_bits": "0"})
    assert shown.status_code == 200
    await again.send({"type": "Subscribe", "payload": {"channel_id": world["second"]}})
    frames = []
    while (out := await again.recv_raw())["type"] == "websocket.send":
        frames.append(json.loads(out["text"]))
    assert out == {"type": "websocket.close", "code": 1013}
    assert _texts(frames) == []
    await again.close(1006)
    last = await _connect(users["bob"])
    assert (await _resume(last, again.session_id))[1] == {"type": "InvalidSession"}
    await last.close()
    await alice.close()


# --- 3. Revoking a login session ends its sockets -----------------------------------------------


def _login(api: Api, user: TestUser) -> str:
    response = api.post(
        "/api/v1/auth/login", {"username": user.username, "password": user.password}
    )
    assert response.status_code == 200, response
    return str(response.json()["access_token"])


def _session_of(token: str) -> uuid.UUID:
    return user_for_token(token)[1].session_id


async def test_revoking_a_session_closes_its_sockets_only(
    users: dict[str, TestUser], api: Api
) -> None:
    other_token = await sync_to_async(_login)(api, users["bob"])
    doomed = await _connect(users["bob"])
    kept = Ws(other_token)
    await kept.open()
    family = await sync_to_async(_session_of)(users["bob"].access_token)
    response = await sync_to_async(api.delete)(f"/api/v1/auth/sessions/{family}", token=other_token)
    assert response.status_code == 200, response
    assert response.json() == {"message": "Session revoked"}
    assert await doomed.recv_raw(1) == {"type": "websocket.close", "code": 1008}
    await doomed.close(1008)
    await kept.send({"type": "Ping"})
    await kept.expect("Pong")
    await kept.close()


@pytest.mark.parametrize(
    "operation",
    [
        {"type": "Ping"},
        {"type": "Subscribe", "payload": {"channel_id": "CHANNEL"}},
        {"type": "Typing", "payload": {"channel_id": "CHANNEL"}},
        {"type": "SetStatus", "payload": {"status": "dnd"}},
        {"type": "Resume", "payload": {"session_id": "SESSION"}},
    ],
    ids=lambda op: op["type"],
)
async def test_every_operation_of_a_revoked_session_fails(
    users: dict[str, TestUser], world: dict[str, str], operation: dict[str, Any]
) -> None:
    """Even when the close command is lost (the layer is at-most-once): the session row is gone,
    so the next operation closes the socket instead of answering it."""
    from accounts.models import DeviceSession

    earlier = await _connect(users["bob"])
    await earlier.subscribe(world["first"])
    await earlier.close()
    bob = await _connect(users["bob"])
    family = await sync_to_async(_session_of)(users["bob"].access_token)
    await sync_to_async(DeviceSession.objects.filter(id=family).delete)()  # no control sent
    text = json.dumps(operation).replace("CHANNEL", world["first"])
    await bob.send(text.replace("SESSION", earlier.session_id))
    assert await bob.recv_raw() == {"type": "websocket.close", "code": 1008}
    await bob.close(1008)


def _admin_revokes(session_id: uuid.UUID, user_id: str, *, inline: bool) -> None:
    """alice, the instance admin, revokes one session in Django admin: with the sessions
    list's action, or by deleting it from the user's page."""
    from accounts.models import DeviceSession
    from tests.accounts.test_django_admin import admin_login

    browser, status = admin_login("alice")
    assert status == 302
    if inline:
        sessions = list(DeviceSession.objects.filter(user_id=user_id).order_by("id"))
        form = {
            "device_sessions-TOTAL_FORMS": str(len(sessions)),
            "device_sessions-INITIAL_FORMS": str(len(sessions)),
            "dm_privacy": "everyone",
        }
        for index, session in enumerate(sessions):
            form[f"device_sessions-{index}-id"] = str(session.id)
            form[f"device_sessions-{index}-user"] = user_id
            if session.id == session_id:
                form[f"device_sessions-{index}-DELETE"] = "on"
        response = browser.post(f"/admin/accounts/user/{user_id}/change/", form)
    else:
        form = {"action": "revoke", "_selected_action": str(session_id)}
        response = browser.post("/admin/accounts/devicesession/", form)
    assert response.status_code == 302, response.content[:2000]
    assert not DeviceSession.objects.filter(id=session_id).exists()


@pytest.mark.parametrize("inline", [False, True], ids=["revoke-action", "user-page"])
async def test_the_admin_revoking_a_session_closes_its_socket(
    users: dict[str, TestUser], inline: bool
) -> None:
    bob = await _connect(users["bob"])
    family = await sync_to_async(_session_of)(users["bob"].access_token)
    await sync_to_async(_admin_revokes)(family, users["bob"].id, inline=inline)
    assert await bob.recv_raw(1) == {"type": "websocket.close", "code": 1008}
    await bob.close(1008)


# --- 5 and 7 on the socket: typing while timed out, blocks -------------------------------------


async def test_typing_is_dropped_while_timed_out(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    alice = await _connect(users["alice"])
    await alice.subscribe(world["first"])
    bob = await _connect(users["bob"])
    timeout = await sync_to_async(api.as_("alice").put)(
        f"/api/v1/servers/{world['id']}/members/{users['bob'].id}/timeout",
        {"duration_seconds": 600},
    )
    assert timeout.status_code == 200, timeout
    await bob.send({"type": "Typing", "payload": {"channel_id": world["first"]}})
    await bob.sync()
    assert [f["type"] for f in await _frames(alice)].count("UserTyping") == 0
    lifted = await sync_to_async(api.as_("alice").put)(
        f"/api/v1/servers/{world['id']}/members/{users['bob'].id}/timeout",
        {"duration_seconds": 0},
    )
    assert lifted.status_code == 200
    await bob.send({"type": "Typing", "payload": {"channel_id": world["first"]}})
    assert (await _next(alice, "UserTyping"))["payload"]["user_id"] == users["bob"].id
    await alice.close()
    await bob.close()


async def test_blocks_stop_typing_and_presence_between_the_two_only(
    users: dict[str, TestUser], world: dict[str, str], api: Api
) -> None:
    """carol joins too; bob blocks alice. alice's typing and presence reach carol, not bob;
    bob's reach carol, not alice, live and on resume."""
    owner = api.as_("alice")
    invite = (await sync_to_async(owner.post)(f"/api/v1/servers/{world['id']}/invites", {})).json()
    await sync_to_async(api.as_("carol").post)(f"/api/v1/invites/{invite['code']}/join")
    blocked = await sync_to_async(api.as_("bob").post)(f"/api/v1/users/{users['alice'].id}/block")
    assert blocked.status_code in (200, 204), blocked
    watchers = {}
    for name in ("bob", "carol"):
        watchers[name] = await _connect(users[name])
        await watchers[name].subscribe(world["first"])
    away = await _connect(users["bob"])
    await away.subscribe(world["first"])
    await away.close()  # a saved session of bob's, resumed below

    alice = await _connect(users["alice"])  # PresenceUpdate online
    await alice.send({"type": "Typing", "payload": {"channel_id": world["first"]}})
    carol = watchers["carol"]
    await _next(carol, "PresenceUpdate", users["alice"].id)
    await _next(carol, "UserTyping", users["alice"].id)
    about_alice = [
        f
        for f in await _frames(watchers["bob"])
        if f["payload"].get("user_id") == users["alice"].id
    ]
    assert about_alice == []
    await watchers["bob"].send({"type": "Typing", "payload": {"channel_id": world["first"]}})
    await _next(carol, "UserTyping", users["bob"].id)
    await alice.sync()
    assert [f for f in alice.pending if f["type"] == "UserTyping"] == []

    again = await _connect(users["bob"])
    replayed, _ = await _resume(again, away.session_id)
    assert [f for f in replayed if f.get("payload", {}).get("user_id") == users["alice"].id] == []
    for ws in (*watchers.values(), again, alice):
        await ws.close()


async def test_entries_hidden_from_a_user_are_stored_with_the_event(
    users: dict[str, TestUser],
) -> None:
    """The replay store keeps who an event is hidden from, so a backfill after a lost doorbell
    hides it too."""
    from realtime.events import Event, adispatch, to_users

    bob_id = uuid.UUID(users["bob"].id)
    bob = await _connect(users["bob"])
    group = f"user.{bob_id}"
    hidden = Event("ReadStateUpdated", {"n": 1}, to_users(bob_id).hiding([bob_id]))
    appended = Appended(hidden.id, hidden.type, hidden.frame, users["bob"].id)
    await get_store().aappend([group], appended)  # doorbell lost
    await adispatch(Event("ReadStateUpdated", {"n": 2}, to_users(bob_id)))
    frame = await bob.expect("ReadStateUpdated")
    assert frame["payload"] == {"n": 2}
    await bob.silent()
    await bob.close()


async def test_typing_over_its_rate_limit_is_dropped_silently(
    users: dict[str, TestUser], world: dict[str, str]
) -> None:
    from django.conf import settings

    from tests.helpers import haven_settings

    alice = await _connect(users["alice"])
    await alice.subscribe(world["first"])
    bob = await _connect(users["bob"])
    limits = {**settings.HAVEN.ws_rate_limits, "typing": (2, 60)}
    with haven_settings(rate_limits_enabled=True, ws_rate_limits=limits):
        for _ in range(4):
            await bob.send({"type": "Typing", "payload": {"channel_id": world["first"]}})
        await bob.sync()
        assert bob.pending == []  # no Error: dropped silently
        await _next(alice, "UserTyping", users["bob"].id)
        await _next(alice, "UserTyping", users["bob"].id)
        await alice.sync()
        assert [f for f in alice.pending if f["type"] == "UserTyping"] == []
    await alice.close()
    await bob.close()
