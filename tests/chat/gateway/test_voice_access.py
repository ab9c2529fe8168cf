"""Voice access ends with the access (docs/files-and-voice.md, "Access that ends"): a kick, ban,
timeout, lost visibility (role removed, updated or deleted, overwrite set or deleted) or deletion
takes the participant out of Haven's roster (``VoiceStateUpdate joined:false`` on the sockets of
the others and of the user) and out of the LiveKit room (``RemoveParticipant`` at the contract
fake). Everything goes through the REST routes and real WebSocket connections."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from chat.models import Role
from chat.permissions import Permission
from tests.chat.gateway.conftest import Ws
from tests.factories import (
    add_channel,
    add_member,
    make_dm,
    make_server,
)
from tests.helpers import Api, TestUser
from tests.voice.livekit_fake import FakeLiveKit, configured, running_fake

pytestmark = pytest.mark.django_db(transaction=True)
P = "/api/v1"
VIEW = int(Permission.VIEW_CHANNELS)


@pytest.fixture(scope="module")
def fake_livekit() -> Iterator[str]:
    with running_fake() as url:
        yield url


@pytest.fixture
def livekit(fake_livekit: str) -> Iterator[type[FakeLiveKit]]:
    with configured(fake_livekit) as fake:
        yield fake


def _world(users: dict[str, TestUser]) -> dict[str, Any]:
    """alice owns a server with a text and a voice channel; bob and carol are members."""
    alice, bob, carol = (uuid.UUID(users[n].id) for n in ("alice", "bob", "carol"))
    server = make_server(alice).server
    add_member(server, bob)
    add_member(server, carol)
    assert server.system_channel is not None
    everyone = Role.objects.get(server=server, is_default=True)
    return {
        "server": str(server.id),
        "text": str(server.system_channel.id),
        "voice": str(add_channel(server, "voice").id),
        "everyone": str(everyone.id),
        "model": server,
    }


@pytest.fixture
async def world(users: dict[str, TestUser]) -> AsyncIterator[dict[str, Any]]:
    yield await sync_to_async(_world)(users)
    await sync_to_async(connections.close_all)()


async def rest(api: Api, user: str, method: str, path: str, body: Any = None) -> Any:
    call = getattr(api.as_(user), method)
    args = (P + path,) if body is None else (P + path, body)
    response = await sync_to_async(call)(*args)
    assert response.status_code in (200, 204), response
    return response


async def connect(users: dict[str, TestUser], name: str, *subscribe: str) -> Ws:
    ws = Ws(users[name].access_token)
    await ws.open()
    for channel in subscribe:
        await ws.subscribe(channel)
    return ws


async def voice_event(ws: Ws, user_id: str, joined: bool, wait: float = 5) -> dict[str, Any]:
    """The next VoiceStateUpdate about ``user_id`` (other frames are skipped)."""
    while True:
        frame = await ws.recv(wait)
        payload = frame.get("payload") or {}
        if frame["type"] == "VoiceStateUpdate" and payload.get("user_id") == user_id:
            assert payload["joined"] is joined, frame
            return payload


def removals(livekit: type[FakeLiveKit]) -> list[tuple[str, str]]:
    return [(r.body.room, r.body.identity) for r in livekit.recorded]


# --- What takes the access away: (setup before bob joins, the change itself) -----------------

Step = Callable[[Api, dict[str, Any], dict[str, TestUser]], Any]


async def _nothing(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    pass


async def _kick(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    await rest(api, "alice", "delete", f"/servers/{w['server']}/members/{users['bob'].id}")


async def _ban(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    await rest(api, "alice", "post", f"/servers/{w['server']}/bans/{users['bob'].id}", {})


async def _timeout(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    path = f"/servers/{w['server']}/members/{users['bob'].id}/timeout"
    await rest(api, "alice", "put", path, {"duration_seconds": 600})


async def _view_by_role(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    """@everyone loses VIEW_CHANNELS; bob and carol see the server through a role."""
    await rest(api, "alice", "put", f"/servers/{w['server']}/roles/{w['everyone']}",
               {"permissions": str(int(Permission.SEND_MESSAGES))})  # fmt: skip
    role = await rest(api, "alice", "post", f"/servers/{w['server']}/roles",
                      {"name": "viewers", "permissions": str(VIEW), "position": 1})  # fmt: skip
    w["role"] = role.json()["id"]
    for name in ("bob", "carol"):
        path = f"/servers/{w['server']}/members/{users[name].id}/roles"
        await rest(api, "alice", "put", path, {"role_id": w["role"]})


async def _role_removed(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    path = f"/servers/{w['server']}/members/{users['bob'].id}/roles/{w['role']}"
    await rest(api, "alice", "delete", path)


async def _role_updated(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    path = f"/servers/{w['server']}/roles/{w['role']}"
    await rest(api, "alice", "put", path, {"permissions": str(int(Permission.SEND_MESSAGES))})


async def _role_deleted(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    await rest(api, "alice", "delete", f"/servers/{w['server']}/roles/{w['role']}")


def _overwrite(target_type: str, target_id: str, allow: int, deny: int) -> dict[str, str]:
    return {"target_type": target_type, "target_id": target_id,
            "allow_bits": str(allow), "deny_bits": str(deny)}  # fmt: skip


async def _overwrite_set(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    body = _overwrite("member", users["bob"].id, 0, VIEW)
    await rest(api, "alice", "put", f"/channels/{w['voice']}/overwrites", body)


async def _hidden_but_allowed(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    """The voice channel is hidden from @everyone; member overwrites let bob and carol in."""
    path = f"/channels/{w['voice']}/overwrites"
    await rest(api, "alice", "put", path, _overwrite("role", w["everyone"], 0, VIEW))
    for name in ("bob", "carol"):
        await rest(api, "alice", "put", path, _overwrite("member", users[name].id, VIEW, 0))


async def _overwrite_deleted(api: Api, w: dict[str, Any], users: dict[str, TestUser]) -> None:
    path = f"/channels/{w['voice']}/overwrites/member/{users['bob'].id}"
    await rest(api, "alice", "delete", path)


CHANGES: dict[str, tuple[Step, Step]] = {
    "kick": (_nothing, _kick),
    "ban": (_nothing, _ban),
    "timeout": (_nothing, _timeout),
    "role removed": (_view_by_role, _role_removed),
    "role updated": (_view_by_role, _role_updated),
    "role deleted": (_view_by_role, _role_deleted),
    "overwrite set": (_nothing, _overwrite_set),
    "overwrite deleted": (_hidden_but_allowed, _overwrite_deleted),
}
ONLY_BOB = {"kick", "ban", "timeout", "role removed", "overwrite set", "overwrite deleted"}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_losing_access_takes_the_participant_out_of_voice(
    change: str,
    users: dict[str, TestUser],
    world: dict[str, Any],
    api: Api,
    livekit: type[FakeLiveKit],
) -> None:
    setup, act = CHANGES[change]
    await setup(api, world, users)
    alice = await connect(users, "alice", world["text"])
    bob = await connect(users, "bob")
    for name in ("bob", "carol"):
        await rest(api, name, "post", f"/voice/{world['voice']}/join")
        await voice_event(alice, users[name].id, joined=True)
    await rest(api, "alice", "post", f"/voice/{world['voice']}/join")
    livekit.recorded.clear()

    await act(api, world, users)

    # Another member's socket and bob's own see him leave; LiveKit was told to remove him.
    left = await voice_event(alice, users["bob"].id, joined=False)
    assert left == {"channel_id": world["voice"], "user_id": users["bob"].id,
                    "username": "bob", "joined": False}  # fmt: skip
    await voice_event(bob, users["bob"].id, joined=False)
    expected = [(world["voice"], users["bob"].id)]
    if change not in ONLY_BOB:  # the role was carol's way in too
        expected.append((world["voice"], users["carol"].id))
    assert sorted(removals(livekit)) == sorted(expected)
    assert {r.method for r in livekit.recorded} == {"RemoveParticipant"}
    roster = await rest(api, "alice", "get", f"/voice/{world['voice']}/participants")
    stayed = {users["alice"].id} | ({users["carol"].id} if change in ONLY_BOB else set())
    assert {p["user_id"] for p in roster.json()} == stayed
    # The renewal route no longer hands bob a token.
    renewal = await sync_to_async(api.as_("bob").post)(f"{P}/voice/{world['voice']}/token")
    assert renewal.status_code == 403, renewal
    await alice.close()
    await bob.close()


async def test_channel_and_server_deletion_take_everyone_out(
    users: dict[str, TestUser], world: dict[str, Any], api: Api, livekit: type[FakeLiveKit]
) -> None:
    bob = await connect(users, "bob")
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")
    await rest(api, "alice", "delete", f"/channels/{world['voice']}")
    left = await voice_event(bob, users["bob"].id, joined=False)
    assert left["channel_id"] == world["voice"]
    assert removals(livekit) == [(world["voice"], users["bob"].id)]

    lounge = await sync_to_async(add_channel)(world["model"], "voice")
    await rest(api, "bob", "post", f"/voice/{lounge.id}/join")
    livekit.recorded.clear()
    await rest(api, "alice", "delete", f"/servers/{world['server']}")
    left = await voice_event(bob, users["bob"].id, joined=False)
    assert left["channel_id"] == str(lounge.id)
    assert removals(livekit) == [(str(lounge.id), users["bob"].id)]
    await bob.close()


async def test_leaving_a_group_dm_takes_the_leaver_out_of_its_voice(
    users: dict[str, TestUser], api: Api, livekit: type[FakeLiveKit]
) -> None:
    ids = [uuid.UUID(users[n].id) for n in ("alice", "bob", "carol")]
    group = str((await sync_to_async(make_dm)(*ids, group=True)).id)
    alice = await connect(users, "alice", group)
    await rest(api, "bob", "post", f"/voice/{group}/join")
    await voice_event(alice, users["bob"].id, joined=True)
    livekit.recorded.clear()
    await rest(api, "bob", "delete", f"/channels/{group}/leave")
    left = await voice_event(alice, users["bob"].id, joined=False)
    assert left["channel_id"] == group
    assert removals(livekit) == [(group, users["bob"].id)]
    roster = await rest(api, "alice", "get", f"/voice/{group}/participants")
    assert roster.json() == []
    await alice.close()


async def test_changes_that_keep_access_remove_nobody(
    users: dict[str, TestUser], world: dict[str, Any], api: Api, livekit: type[FakeLiveKit]
) -> None:
    alice = await connect(users, "alice", world["text"])
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")
    await voice_event(alice, users["bob"].id, joined=True)
    # Another member is kicked, a timeout is lifted, an overwrite denies something else.
    await rest(api, "alice", "delete", f"/servers/{world['server']}/members/{users['carol'].id}")
    path = f"/servers/{world['server']}/members/{users['bob'].id}/timeout"
    await rest(api, "alice", "put", path, {"duration_seconds": 0})
    body = _overwrite("member", users["bob"].id, 0, int(Permission.SEND_MESSAGES))
    await rest(api, "alice", "put", f"/channels/{world['voice']}/overwrites", body)
    await alice.sync()
    assert [f for f in alice.pending if f["type"] == "VoiceStateUpdate"] == []
    assert livekit.recorded == []
    roster = await rest(api, "alice", "get", f"/voice/{world['voice']}/participants")
    assert [p["user_id"] for p in roster.json()] == [users["bob"].id]
    await alice.close()


async def test_livekit_down_still_empties_the_roster(
    users: dict[str, TestUser], world: dict[str, Any], api: Api, livekit: type[FakeLiveKit]
) -> None:
    livekit.fail_with_500 = True
    alice = await connect(users, "alice", world["text"])
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")
    await voice_event(alice, users["bob"].id, joined=True)
    await rest(api, "alice", "delete", f"/servers/{world['server']}/members/{users['bob'].id}")
    await voice_event(alice, users["bob"].id, joined=False)
    assert removals(livekit) == [(world["voice"], users["bob"].id)]
    await alice.close()
