"""Subscriptions, delivery, typing, presence and controls (websocket.md 3-5)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from realtime.events import (
    Event,
    acontrol,
    adispatch,
    control,
    to_channels,
    to_servers,
    to_users,
)
from tests.chat.gateway.conftest import Ws, settle
from tests.factories import make_dm
from tests.helpers import Api, TestUser

pytestmark = pytest.mark.django_db(transaction=True)


def _event(n: int, audience: Any, event_type: str = "ReadStateUpdated") -> Event:
    return Event(event_type, {"n": n}, audience)


async def _drain_presence(ws: Ws) -> None:
    """Swallow PresenceUpdate frames already on their way."""
    while not await ws.comm.receive_nothing(0.15):
        frame = await ws.recv()
        assert frame["type"] == "PresenceUpdate", frame


async def test_subscribe_requires_access(users: dict[str, TestUser], server: dict) -> None:
    carol = Ws(users["carol"].access_token)
    await carol.open()
    for channel in (server["first"], uuid.uuid4()):
        await carol.send({"type": "Subscribe", "payload": {"channel_id": str(channel)}})
        error = await carol.expect("Error")
        assert error["payload"] == {"message": "Not a member of this channel"}
    await carol.close()


async def test_private_channel_needs_view_channels(
    users: dict[str, TestUser], server: dict
) -> None:
    from chat.models import PermissionOverwrite, TargetType
    from chat.permissions import Permission

    await PermissionOverwrite.objects.acreate(
        channel_id=server["second"],
        target_type=TargetType.MEMBER,
        target_id=uuid.UUID(users["bob"].id),
        deny_bits=int(Permission.VIEW_CHANNELS),
    )
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.send({"type": "Subscribe", "payload": {"channel_id": str(server["second"])}})
    assert (await bob.expect("Error"))["payload"]["message"] == "Not a member of this channel"
    await bob.subscribe(server["first"])
    await bob.close()


async def test_channel_events_reach_subscribers_once(
    users: dict[str, TestUser], server: dict
) -> None:
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    await bob.subscribe(server["first"])  # idempotent
    await bob.subscribe(server["second"])
    # Addressed to both channels and the server: one copy per connection.
    audience = to_channels(server["first"], server["second"]) | to_servers(server["id"])
    await adispatch(_event(1, audience | to_users(uuid.UUID(users["bob"].id))))
    frame = await bob.expect("ReadStateUpdated")
    assert frame["payload"] == {"n": 1}
    await bob.silent()
    await bob.close()


async def test_unsubscribe_stops_delivery_silently(
    users: dict[str, TestUser], server: dict
) -> None:
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    await bob.subscribe(server["second"])
    await bob.send({"type": "Unsubscribe", "payload": {"channel_id": str(server["first"])}})
    await bob.send({"type": "Unsubscribe", "payload": {"channel_id": str(uuid.uuid4())}})
    await bob.silent()
    await adispatch(_event(1, to_channels(server["first"])))
    await bob.silent()
    # Still subscribed to another channel of the server: server events still arrive.
    await adispatch(_event(2, to_servers(server["id"])))
    assert (await bob.expect("ReadStateUpdated"))["payload"] == {"n": 2}
    await bob.send({"type": "Unsubscribe", "payload": {"channel_id": str(server["second"])}})
    await bob.sync()
    await adispatch(_event(3, to_servers(server["id"])))
    await bob.silent()
    await bob.close()


async def test_user_events_reach_every_connection_of_the_user(
    users: dict[str, TestUser],
) -> None:
    first, second = Ws(users["alice"].access_token), Ws(users["alice"].access_token)
    await first.open()
    await second.open()
    await adispatch(_event(7, to_users(uuid.UUID(users["alice"].id))))
    for ws in (first, second):
        assert (await ws.expect("ReadStateUpdated"))["payload"] == {"n": 7}
        await ws.close()


async def test_typing_goes_to_subscribers_and_is_dropped_without_access(
    users: dict[str, TestUser], server: dict
) -> None:
    from accounts.models import User

    await User.objects.filter(id=users["alice"].id).aupdate(display_name="Alice A.")
    bob, alice, carol = (Ws(users[n].access_token) for n in ("bob", "alice", "carol"))
    await bob.open()
    await bob.subscribe(server["first"])
    await alice.open()
    await _drain_presence(bob)
    await alice.send({"type": "Typing", "payload": {"channel_id": str(server["first"])}})
    frame = await bob.expect("UserTyping")
    assert frame["payload"] == {
        "channel_id": str(server["first"]),
        "user_id": users["alice"].id,
        "username": "Alice A.",
    }
    await carol.open()
    await carol.send({"type": "Typing", "payload": {"channel_id": str(server["first"])}})
    await carol.silent()
    await bob.silent()
    for ws in (alice, bob, carol):
        await ws.close()


async def test_set_status_validation_and_broadcast(
    users: dict[str, TestUser], server: dict
) -> None:
    from chat.presence import statuses, stored_status

    alice_id = uuid.UUID(users["alice"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    alice = Ws(users["alice"].access_token)
    await alice.open()
    online = await bob.expect("PresenceUpdate")
    assert online["payload"] == {"user_id": str(alice_id), "status": "online"}
    await alice.send({"type": "SetStatus", "payload": {"status": "bogus"}})
    error = await alice.expect("Error")
    assert error["payload"]["message"] == (
        "Invalid status: bogus. Valid: online, idle, dnd, invisible"
    )
    await alice.send({"type": "SetStatus", "payload": {"status": "dnd"}})
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "dnd"
    await alice.send({"type": "SetStatus", "payload": {"status": "invisible"}})
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "offline"
    assert await sync_to_async(stored_status)(alice_id) == "invisible"
    assert (await sync_to_async(statuses)([alice_id])) == {alice_id: "offline"}
    await alice.close()
    await bob.close()


async def test_offline_only_when_the_last_connection_closes(
    users: dict[str, TestUser], server: dict
) -> None:
    from chat.presence import statuses

    alice_id = uuid.UUID(users["alice"].id)
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    first, second = Ws(users["alice"].access_token), Ws(users["alice"].access_token)
    await first.open()
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "online"
    await second.open()
    await bob.silent()  # alice was online already: no second "online" (docs/realtime.md)
    assert (await sync_to_async(statuses)([alice_id]))[alice_id] == "online"
    await first.close()
    await bob.silent()
    await second.close()
    offline = await bob.expect("PresenceUpdate")
    assert offline["payload"] == {"user_id": str(alice_id), "status": "offline"}
    assert (await sync_to_async(statuses)([alice_id]))[alice_id] == "offline"
    await bob.close()


async def test_a_new_connection_announces_online_when_the_status_changes(
    users: dict[str, TestUser], server: dict
) -> None:
    """Connecting sets "online" over any chosen status (websocket.md 1.4): announced when it
    changes the status (here from dnd), not when the user was online already."""
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    first = Ws(users["alice"].access_token)
    await first.open()
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "online"
    await first.send({"type": "SetStatus", "payload": {"status": "dnd"}})
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "dnd"
    second = Ws(users["alice"].access_token)
    await second.open()
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "online"
    for ws in (first, second, bob):
        await ws.close()


async def test_recheck_drops_subscriptions_that_lost_access(
    users: dict[str, TestUser], server: dict
) -> None:
    from chat.models import ServerMember

    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    await ServerMember.objects.filter(user_id=users["bob"].id).adelete()
    await acontrol("recheck", to_users(uuid.UUID(users["bob"].id)), server_id=str(server["id"]))
    await bob.sync()
    assert bob.pending == []  # silently
    await adispatch(_event(1, to_channels(server["first"]) | to_servers(server["id"])))
    await bob.silent()
    await bob.close()


async def test_close_control_sends_nothing_more(users: dict[str, TestUser]) -> None:
    alice = Ws(users["alice"].access_token)
    await alice.open()
    alice_id = uuid.UUID(users["alice"].id)
    await acontrol("close", to_users(alice_id), code=1008)
    await adispatch(_event(1, to_users(alice_id)))
    assert await alice.recv_raw() == {"type": "websocket.close", "code": 1008}
    await alice.silent()
    await alice.close(1008)


async def test_account_deletion_sends_error_then_closes(
    users: dict[str, TestUser], api: Api
) -> None:
    alice = Ws(users["alice"].access_token)
    await alice.open()
    response = await sync_to_async(api.as_("alice").post)(
        "/api/v1/auth/delete-account", {"password": users["alice"].password}
    )
    assert response.status_code in (200, 204), response
    error = await alice.expect("Error")
    assert error["payload"] == {"message": "Account deleted"}
    closed = await alice.recv_raw()
    assert closed == {"type": "websocket.close", "code": 1008}
    await alice.close(1008)


async def test_logout_ends_presence_and_closes_sockets(
    users: dict[str, TestUser], server: dict, api: Api
) -> None:
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await bob.subscribe(server["first"])
    alice = Ws(users["alice"].access_token)
    await alice.open()
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "online"
    response = await sync_to_async(api.as_("alice").post)("/api/v1/auth/logout")
    assert response.status_code in (200, 204), response
    assert (await bob.expect("PresenceUpdate"))["payload"]["status"] == "offline"
    assert await alice.recv_raw() == {"type": "websocket.close", "code": 1008}
    await alice.close(1008)
    await bob.silent()  # the closed socket does not announce offline twice
    await bob.close()


async def test_events_published_after_commit_from_sync_code(
    users: dict[str, TestUser],
) -> None:
    alice = Ws(users["alice"].access_token)
    await alice.open()

    def in_a_request() -> None:
        from django.db import transaction

        from realtime.events import publish

        with transaction.atomic():
            publish("ReadStateUpdated", {"n": 9}, to_users(uuid.UUID(users["alice"].id)))
            control("recheck", to_users(uuid.UUID(users["alice"].id)))

    await sync_to_async(in_a_request)()
    assert (await alice.expect("ReadStateUpdated"))["payload"] == {"n": 9}
    await settle()
    await alice.close()


async def test_a_group_rename_reaches_every_participants_connections(
    users: dict[str, TestUser], api: Api
) -> None:
    """``ChannelUpdated`` (a port addition, docs/realtime.md) goes to every participant's
    connections, subscribed or not, the renamer's own included; nobody else hears it."""
    dave = await sync_to_async(api.register)("dave")
    ids = [uuid.UUID(users[n].id) for n in ("alice", "bob", "carol")]
    group = str((await sync_to_async(make_dm)(*ids, group=True)).id)
    sockets = {name: Ws(user.access_token) for name, user in {**users, "dave": dave}.items()}
    for ws in sockets.values():
        await ws.open()
    await sockets["carol"].subscribe(group)
    meta = "eyJ0eXBlIjoiZ3JvdXAiLCJuYW1lIjoiVHJpcCJ9"  # {"type":"group","name":"Trip"}
    renamed = await sync_to_async(api.as_("bob").put)(
        f"/api/v1/channels/{group}", {"encrypted_meta": meta}
    )
    assert renamed.status_code == 200, renamed
    for name in ("alice", "bob", "carol"):
        frame = await sockets[name].expect("ChannelUpdated")
        assert frame["payload"] == {"channel_id": group, "encrypted_meta": meta}
        await sockets[name].silent()  # one copy, subscribed or not
    await sockets["dave"].silent()
    for ws in sockets.values():
        await ws.close()
