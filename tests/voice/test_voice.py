"""Voice routes (api.md 2.20, operations.md 6): tokens verified with livekit-api's own verifier,
rosters and server mute/deafen in the shared cache, and the VoiceStateUpdate/VoiceMuteUpdate
events with their audiences (websocket.md 4.4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from livekit import api as livekit_api
from livekit.api.access_token import Claims

from chat.models import PermissionOverwrite, Role
from chat.permissions import Permission
from realtime.events import capture_events, to_channels, to_servers, to_users
from tests.factories import (
    add_channel,
    add_member,
    add_role,
    make_dm,
    make_server,
    uid,
)
from tests.helpers import Api, haven_settings

KEY, SECRET = "devkey", "a-livekit-secret-that-is-long-enough-for-hs256"
LIVEKIT = {
    "livekit_url": "http://127.0.0.1:9",
    "livekit_client_url": "wss://voice.example.com",
    "livekit_api_key": KEY,
    "livekit_api_secret": SECRET,
}


@pytest.fixture(autouse=True)
def livekit_configured() -> Iterator[None]:
    with haven_settings(**LIVEKIT):
        yield


@pytest.fixture
def recorded(django_capture_on_commit_callbacks: Any) -> Any:
    """Events as clients would get them: the on-commit callbacks run, then are recorded."""

    @contextmanager
    def record() -> Iterator[list[Any]]:
        with capture_events() as events, django_capture_on_commit_callbacks(execute=True):
            yield events

    return record


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    alice = api.register("alice", display_name="Alice A.")
    bob = api.register("bob")
    api.register("mallory")
    server = make_server(alice.id).server
    add_member(server, bob.id)
    return {
        "server": server,
        "voice": add_channel(server, "voice"),
        "lounge": add_channel(server, "voice"),
        "text": server.system_channel,
        "dm": make_dm(alice.id, bob.id),
        "alice": alice,
        "bob": bob,
    }


def join(api: Api, user: str, channel: Any) -> Any:
    return api.as_(user).post(f"/api/v1/voice/{channel.id}/join")


def verify(token: str) -> Claims:
    return livekit_api.TokenVerifier(KEY, SECRET).verify(token)


def test_join_answers_a_token_livekit_accepts(api: Api, world: dict[str, Any]) -> None:
    response = join(api, "alice", world["voice"])
    assert response.status_code == 200
    body = response.json()
    assert body["url"] == "wss://voice.example.com"
    assert body["channel_id"] == str(world["voice"].id)
    claims = verify(body["token"])
    assert claims.identity == world["alice"].id
    assert claims.name == "Alice A."
    assert claims.video is not None
    assert claims.video.room == str(world["voice"].id)
    assert claims.video.room_join is True
    assert claims.video.can_publish is True
    assert claims.video.can_subscribe is True
    assert claims.video.can_publish_data is True
    assert not claims.video.room_admin
    assert not claims.video.room_create
    raw = jwt.decode(body["token"], options={"verify_signature": False})
    assert raw["iss"] == KEY
    assert raw["exp"] - raw["nbf"] == 300  # LIVEKIT_TOKEN_TTL_SECS: minutes, not the spec's 6 h
    with haven_settings(livekit_token_ttl_secs=120):
        short = join(api, "alice", world["voice"]).json()["token"]
    raw = jwt.decode(short, options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == 120
    with pytest.raises(jwt.InvalidSignatureError):
        livekit_api.TokenVerifier(KEY, "another-secret-entirely-different-from-it").verify(
            body["token"]
        )


def test_username_when_there_is_no_display_name(api: Api, world: dict[str, Any]) -> None:
    body = join(api, "bob", world["voice"]).json()
    assert verify(body["token"]).name == "bob"


def test_not_configured_is_checked_first(api: Api, world: dict[str, Any]) -> None:
    with haven_settings(livekit_url=""):
        for channel_id in (world["voice"].id, "00000000-0000-4000-8000-000000000000"):
            response = api.as_("alice").post(f"/api/v1/voice/{channel_id}/join")
            assert response.json() == {"error": "Voice chat is not configured", "status": 400}


def test_join_errors(api: Api, world: dict[str, Any]) -> None:
    unknown = api.as_("alice").post("/api/v1/voice/00000000-0000-4000-8000-000000000000/join")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Channel not found")
    text = join(api, "alice", world["text"])
    assert (text.status_code, text.json()["error"]) == (400, "Channel does not support voice")
    outsider = join(api, "mallory", world["voice"])
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this channel")
    assert join(api, "mallory", world["dm"]).status_code == 403
    assert api.post(f"/api/v1/voice/{world['voice'].id}/join", token="").status_code == 401
    assert api.as_("alice").post("/api/v1/voice/nope/join").status_code == 400


def timeout(api: Api, world: dict[str, Any], user: str, seconds: int) -> None:
    path = f"/api/v1/servers/{world['server'].id}/members/{world[user].id}/timeout"
    response = api.as_("alice").put(path, {"duration_seconds": seconds})
    assert response.status_code == 200, response


def test_a_timed_out_member_cannot_join_voice_in_that_server(
    api: Api, world: dict[str, Any]
) -> None:
    timeout(api, world, "bob", 600)
    refused = join(api, "bob", world["voice"])
    assert refused.json() == {"error": "You are timed out in this server", "status": 403}
    assert join(api, "bob", world["dm"]).status_code == 200  # DMs are not the server's
    assert participants(api, "alice", world["voice"]) == []
    timeout(api, world, "bob", 0)
    assert join(api, "bob", world["voice"]).status_code == 200


def renew(api: Api, user: str, channel: Any) -> Any:
    return api.as_(user).post(f"/api/v1/voice/{channel.id}/token")


def test_token_renewal_re_checks_and_announces_nothing(
    api: Api, world: dict[str, Any], recorded: Any
) -> None:
    join(api, "bob", world["voice"])
    for key in (f"voice:seat:{world['bob'].id}", f"voice:roster:{world['voice'].id}"):
        cache.touch(key, 1)  # about to expire
    with recorded() as events:
        response = renew(api, "bob", world["voice"])
    assert response.status_code == 200, response
    assert events == []
    body = response.json()
    assert set(body) == {"token", "url", "channel_id"}
    assert (body["url"], body["channel_id"]) == ("wss://voice.example.com", str(world["voice"].id))
    claims = verify(body["token"])
    assert claims.identity == world["bob"].id
    assert claims.video is not None
    assert (claims.video.room, claims.video.room_join) == (str(world["voice"].id), True)
    # The seat lives on with the renewals (12 h from the last one, not from the join).
    time.sleep(1.2)
    assert [p["user_id"] for p in participants(api, "alice", world["voice"])] == [world["bob"].id]
    # A server mute reaches the renewed token.
    moderate(api, "alice", world["voice"], world["bob"], "mute", True)
    muted = verify(renew(api, "bob", world["voice"]).json()["token"])
    assert muted.video is not None
    assert muted.video.can_publish is False


def test_token_renewal_is_refused_once_access_or_seat_is_gone(
    api: Api, world: dict[str, Any]
) -> None:
    not_seated = renew(api, "bob", world["voice"])
    assert not_seated.json() == {"error": "You are not in this voice channel", "status": 403}
    join(api, "bob", world["voice"])
    assert renew(api, "bob", world["lounge"]).status_code == 403  # seated elsewhere
    assert renew(api, "mallory", world["voice"]).json()["error"] == "Not a member of this channel"
    unknown = api.as_("bob").post("/api/v1/voice/00000000-0000-4000-8000-000000000000/token")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Channel not found")
    with haven_settings(livekit_url=""):
        assert renew(api, "bob", world["voice"]).json()["error"] == "Voice chat is not configured"
    # A timeout refuses the renewal too (and takes bob out: tests/chat/gateway/test_voice_access).
    timeout(api, world, "bob", 600)
    assert renew(api, "bob", world["voice"]).json()["error"] == "You are timed out in this server"
    api.as_("bob").post(f"/api/v1/voice/{world['voice'].id}/leave")
    timeout(api, world, "bob", 0)
    assert renew(api, "bob", world["voice"]).status_code == 403  # left: join again instead


@pytest.mark.parametrize(
    ("state", "initiator", "caller", "error"),
    [
        ("pending", "alice", "alice", "DM request is still pending"),
        ("pending", "alice", "bob", "Accept the DM request first"),
        ("declined", "alice", "alice", "This DM request was declined"),
    ],
)
def test_dm_voice_needs_an_answered_request(
    api: Api, world: dict[str, Any], state: str, initiator: str, caller: str, error: str
) -> None:
    dm = world["dm"]
    dm.dm_status, dm.dm_initiator_id = state, world[initiator].id
    dm.save(update_fields=["dm_status", "dm_initiator"])
    assert join(api, caller, dm).json() == {"error": error, "status": 403}
    dm.dm_status = "active"
    dm.save(update_fields=["dm_status"])
    assert join(api, caller, dm).status_code == 200


@pytest.mark.parametrize("blocker", ["alice", "bob"])
def test_a_block_either_way_refuses_dm_voice(api: Api, world: dict[str, Any], blocker: str) -> None:
    other = "bob" if blocker == "alice" else "alice"
    assert api.as_(blocker).post(f"/api/v1/users/{world[other].id}/block").status_code == 200
    for caller in ("alice", "bob"):
        refused = join(api, caller, world["dm"])
        assert refused.json() == {"error": "Cannot call this user", "status": 403}
    group = make_dm(world["alice"].id, world["bob"].id, group=True)
    assert join(api, "alice", group).status_code == 200  # blocks do not silence groups


def test_a_hidden_channel_cannot_be_joined(api: Api, world: dict[str, Any]) -> None:
    everyone = world["server"].roles.get(is_default=True)
    PermissionOverwrite.objects.create(
        channel=world["voice"], target_type="role", target_id=everyone.id,
        deny_bits=int(Permission.VIEW_CHANNELS),
    )  # fmt: skip
    assert join(api, "bob", world["voice"]).status_code == 403
    assert join(api, "alice", world["voice"]).status_code == 200  # the owner sees everything


def test_join_event_goes_once_to_every_server_connection(
    api: Api, world: dict[str, Any], recorded: Any
) -> None:
    with recorded() as events:
        join(api, "alice", world["voice"])
    assert [(e.type, e.payload, e.audience) for e in events] == [
        (
            "VoiceStateUpdate",
            {"channel_id": str(world["voice"].id), "user_id": world["alice"].id,
             "username": "Alice A.", "joined": True},
            to_servers(world["server"].id),
        )
    ]  # fmt: skip


def test_switching_channels_leaves_the_previous_one(
    api: Api, world: dict[str, Any], recorded: Any
) -> None:
    join(api, "bob", world["voice"])
    with recorded() as events:
        join(api, "bob", world["lounge"])
    assert [(e.payload["channel_id"], e.payload["joined"]) for e in events] == [
        (str(world["voice"].id), False),
        (str(world["lounge"].id), True),
    ]
    assert participants(api, "alice", world["voice"]) == []
    assert [p["user_id"] for p in participants(api, "alice", world["lounge"])] == [world["bob"].id]


def test_dm_voice_events_go_to_subscribers_and_the_other_member(
    api: Api, world: dict[str, Any], recorded: Any
) -> None:
    with recorded() as events:
        assert join(api, "bob", world["dm"]).status_code == 200
    (event,) = events
    assert event.audience == to_channels(world["dm"].id) | to_users(uid(world["alice"].id))
    assert event.payload["username"] == "bob"


def test_private_channel_events_stay_inside(api: Api, world: dict[str, Any], recorded: Any) -> None:
    """Hidden from @everyone by an overwrite: only those who can see it (the owner) hear of it."""
    secret = add_channel(world["server"], "voice", private=True, hidden=False)
    everyone = Role.objects.get(server=world["server"], is_default=True)
    PermissionOverwrite.objects.create(
        channel=secret,
        target_type="role",
        target_id=everyone.id,
        deny_bits=Permission.VIEW_CHANNELS,
    )
    with recorded() as events:
        join(api, "alice", secret)
    (event,) = events
    assert event.audience == to_channels(secret.id) | to_users(uid(world["alice"].id))


def test_a_private_flag_without_overwrites_hides_nothing(
    api: Api, world: dict[str, Any], recorded: Any
) -> None:
    """Visibility comes from overwrites (docs/api-servers.md): such a channel is for everyone."""
    open_channel = add_channel(world["server"], "voice", private=True, hidden=False)
    with recorded() as events:
        join(api, "bob", open_channel)
    (event,) = events
    assert event.audience == to_servers(world["server"].id)


def test_leave(api: Api, world: dict[str, Any], recorded: Any) -> None:
    join(api, "bob", world["voice"])
    with recorded() as events:
        response = api.as_("bob").post(f"/api/v1/voice/{world['voice'].id}/leave")
    assert response.json() == {"ok": True}
    assert [(e.type, e.payload["joined"]) for e in events] == [("VoiceStateUpdate", False)]
    with recorded() as events:
        again = api.as_("bob").post(f"/api/v1/voice/{world['voice'].id}/leave")
        unknown = api.as_("bob").post("/api/v1/voice/00000000-0000-4000-8000-000000000000/leave")
    assert again.json() == unknown.json() == {"ok": True}
    assert events == []


def participants(api: Api, user: str, channel: Any) -> Any:
    response = api.as_(user).get(f"/api/v1/voice/{channel.id}/participants")
    assert response.status_code == 200, response
    return response.json()


def test_participants(api: Api, world: dict[str, Any], django_assert_max_num_queries: Any) -> None:
    assert participants(api, "alice", world["voice"]) == []
    api.as_("alice").post("/api/v1/users/avatar", raw=_png())
    join(api, "alice", world["voice"])
    join(api, "bob", world["voice"])
    with django_assert_max_num_queries(8):
        listed = participants(api, "bob", world["voice"])
    assert listed == [
        {"user_id": world["alice"].id, "username": "alice", "display_name": "Alice A.",
         "avatar_url": f"/api/v1/users/{world['alice'].id}/avatar", "server_muted": False,
         "server_deafened": False},
        {"user_id": world["bob"].id, "username": "bob", "display_name": None,
         "avatar_url": None, "server_muted": False, "server_deafened": False},
    ]  # fmt: skip
    denied = api.as_("mallory").get(f"/api/v1/voice/{world['voice'].id}/participants")
    assert (denied.status_code, denied.json()["error"]) == (403, "Not a member of this channel")
    unknown = api.as_("alice").get(
        "/api/v1/voice/00000000-0000-4000-8000-000000000000/participants"
    )
    assert unknown.status_code == 403


def _png() -> bytes:
    from tests.factories import (
        PNG,
    )

    return PNG


def moderate(api: Api, user: str, channel: Any, target: Any, what: str, value: bool) -> Any:
    field = {"mute": "muted", "deafen": "deafened"}[what]
    return api.as_(user).put(
        f"/api/v1/voice/{channel.id}/members/{target.id}/{what}", {field: value}
    )


def test_mute_and_deafen(api: Api, world: dict[str, Any], recorded: Any) -> None:
    join(api, "bob", world["voice"])
    with recorded() as events:
        response = moderate(api, "alice", world["voice"], world["bob"], "mute", True)
        moderate(api, "alice", world["voice"], world["bob"], "deafen", True)
    assert response.json() == {"ok": True}
    assert [(e.type, e.payload, e.audience) for e in events] == [
        ("VoiceMuteUpdate", {"channel_id": str(world["voice"].id), "user_id": world["bob"].id,
                             "server_muted": True, "server_deafened": False},
         to_servers(world["server"].id)),
        ("VoiceMuteUpdate", {"channel_id": str(world["voice"].id), "user_id": world["bob"].id,
                             "server_muted": True, "server_deafened": True},
         to_servers(world["server"].id)),
    ]  # fmt: skip
    (bob,) = [
        p for p in participants(api, "alice", world["voice"]) if p["user_id"] == world["bob"].id
    ]
    assert (bob["server_muted"], bob["server_deafened"]) == (True, True)

    # LiveKit enforces it from the next token on, in this channel and the server's others.
    for channel in (world["voice"], world["lounge"]):
        claims = verify(join(api, "bob", channel).json()["token"])
        assert claims.video is not None
        assert (claims.video.can_publish, claims.video.can_subscribe) == (False, False)
    # Leaving and rejoining does not shed a server mute.
    api.as_("bob").post(f"/api/v1/voice/{world['lounge'].id}/leave")
    claims = verify(join(api, "bob", world["voice"]).json()["token"])
    assert claims.video is not None
    assert claims.video.can_publish is False

    moderate(api, "alice", world["voice"], world["bob"], "mute", False)
    moderate(api, "alice", world["voice"], world["bob"], "deafen", False)
    claims = verify(join(api, "bob", world["voice"]).json()["token"])
    assert claims.video is not None
    assert (claims.video.can_publish, claims.video.can_subscribe) == (True, True)
    # Not in DMs: the DM token is unrestricted whatever the server flags are.
    moderate(api, "alice", world["voice"], world["bob"], "mute", True)
    dm_claims = verify(join(api, "bob", world["dm"]).json()["token"])
    assert dm_claims.video is not None
    assert dm_claims.video.can_publish is True


def test_moderation_errors(api: Api, world: dict[str, Any]) -> None:
    join(api, "alice", world["voice"])
    unknown = api.as_("alice").put(
        f"/api/v1/voice/00000000-0000-4000-8000-000000000000/members/{world['bob'].id}/mute",
        {"muted": True},
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Channel not found")
    dm = moderate(api, "alice", world["dm"], world["bob"], "mute", True)
    assert (dm.status_code, dm.json()["error"]) == (400, "Not a server channel")
    no_perm = moderate(api, "bob", world["voice"], world["alice"], "deafen", True)
    assert (no_perm.status_code, no_perm.json()["error"]) == (
        403, "Missing MUTE_MEMBERS permission",
    )  # fmt: skip
    outsider = moderate(api, "mallory", world["voice"], world["alice"], "mute", True)
    assert outsider.status_code == 403
    absent = moderate(api, "alice", world["voice"], world["bob"], "mute", True)
    assert (absent.status_code, absent.json()["error"]) == (
        400,
        "User is not in this voice channel",
    )
    bad_body = api.as_("alice").put(
        f"/api/v1/voice/{world['voice'].id}/members/{world['alice'].id}/mute", {"muted": "yes"}
    )
    assert bad_body.status_code == 422


def test_mute_members_role(api: Api, world: dict[str, Any]) -> None:
    add_role(world["server"], world["bob"].id, Permission.MUTE_MEMBERS)
    join(api, "alice", world["voice"])
    assert moderate(api, "bob", world["voice"], world["alice"], "mute", True).status_code == 200


def test_logout_leaves_voice(api: Api, world: dict[str, Any], recorded: Any) -> None:
    join(api, "bob", world["voice"])
    with recorded() as events:
        assert api.as_("bob").post("/api/v1/auth/logout").status_code == 200
    voice = [e for e in events if e.type == "VoiceStateUpdate"]
    assert [(e.payload["user_id"], e.payload["joined"]) for e in voice] == [
        (world["bob"].id, False)
    ]
    assert participants(api, "alice", world["voice"]) == []


def test_account_deletion_leaves_voice(api: Api, world: dict[str, Any], recorded: Any) -> None:
    join(api, "bob", world["dm"])
    with recorded() as events:
        response = api.as_("bob").post(
            "/api/v1/auth/delete-account", {"password": world["bob"].password}
        )
    assert response.status_code == 204
    (voice,) = [e for e in events if e.type == "VoiceStateUpdate"]
    assert voice.payload["joined"] is False
    assert voice.audience == to_channels(world["dm"].id) | to_users(uid(world["alice"].id))


def test_state_lives_in_the_shared_cache(api: Api, world: dict[str, Any]) -> None:
    join(api, "bob", world["voice"])
    seat = cache.get(f"voice:seat:{world['bob'].id}")
    assert seat == {
        "channel_id": str(world["voice"].id),
        "server_id": str(world["server"].id),
        "login_session": seat["login_session"],  # the sign-in that joined (a revoke ends it)
    }
    assert seat["login_session"] is not None
    assert cache.get(f"voice:roster:{world['voice'].id}") == [world["bob"].id]
    cache.delete(f"voice:seat:{world['bob'].id}")  # an expired seat drops out of the roster
    assert participants(api, "alice", world["voice"]) == []
