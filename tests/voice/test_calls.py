"""DM call signalling (websocket.md 3.12): the gateway's handlers, called directly. Every message
checks membership; state is shared in the cache; the 30 s ring timeout fires on any instance."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from accounts.models import User
from chat.models import Channel, ChannelMember, Message
from haven_site.api.errors import ApiError
from realtime.events import capture_events, to_channels, to_users
from tests.factories import (
    add_channel,
    make_dm,
    make_server,
)
from tests.helpers import eventually
from voice import calls

pytestmark = pytest.mark.django_db(transaction=True)


def _people() -> dict[str, Any]:
    alice = User.objects.create(username="alice", display_name="Alice A.")
    bob = User.objects.create(username="bob")
    carol = User.objects.create(username="carol")
    mallory = User.objects.create(username="mallory")
    server = make_server(alice.id).server
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "mallory": mallory,
        "dm": make_dm(alice.id, bob.id),
        "group": make_dm(alice.id, bob.id, carol.id, group=True),
        "text": add_channel(server, "text"),
    }


@pytest.fixture
async def people() -> dict[str, Any]:
    return await sync_to_async(_people)()


@pytest.fixture
def events() -> Iterator[list[Any]]:
    with capture_events() as captured:
        yield captured


@pytest.fixture(autouse=True)
async def no_stray_timers() -> Any:
    yield
    for task in list(calls._timers):
        task.cancel()
    # The worker thread's database connection, so the test database can be dropped.
    await sync_to_async(connections.close_all)()


def ids(*users: User) -> frozenset[uuid.UUID]:
    return frozenset(u.id for u in users)


async def error_of(coroutine: Any) -> str:
    with pytest.raises(ApiError) as raised:
        await coroutine
    return raised.value.message


async def test_invite_rings_the_others(people: dict[str, Any], events: list[Any]) -> None:
    alice, bob, dm = people["alice"], people["bob"], people["dm"]
    await calls.call_invite(alice, dm.id)
    assert [(e.type, e.payload, e.audience.users) for e in events] == [
        (
            "CallRinging",
            {"channel_id": str(dm.id), "caller_id": str(alice.id), "caller_name": "Alice A."},
            ids(bob),
        )
    ]
    assert await error_of(calls.call_invite(bob, dm.id)) == (
        "A call is already active in this channel"
    )


async def test_invite_errors(people: dict[str, Any], events: list[Any]) -> None:
    alice = people["alice"]
    assert await error_of(calls.call_invite(alice, uuid.uuid4())) == "Channel not found"
    assert await error_of(calls.call_invite(alice, people["text"].id)) == (
        "Calls are only supported in DMs and group DMs"
    )
    assert await error_of(calls.call_invite(people["mallory"], people["dm"].id)) == (
        "Not a member of this channel"
    )
    assert events == []


async def test_accept_connects_the_call(people: dict[str, Any], events: list[Any]) -> None:
    alice, bob, dm = people["alice"], people["bob"], people["dm"]
    await calls.call_invite(alice, dm.id)
    await calls.call_accept(bob, dm.id)
    accepted = events[-1]
    assert (accepted.type, accepted.payload) == (
        "CallAccepted", {"channel_id": str(dm.id), "user_id": str(bob.id)},
    )  # fmt: skip
    assert accepted.audience.users == ids(alice, bob)
    assert await error_of(calls.call_reject(bob, dm.id)) == "No active call in this channel"


async def test_accept_and_reject_check_membership(
    people: dict[str, Any], events: list[Any]
) -> None:
    alice, dm, mallory = people["alice"], people["dm"], people["mallory"]
    await calls.call_invite(alice, dm.id)
    for handler in (calls.call_accept, calls.call_reject, calls.call_end):
        assert await error_of(handler(mallory, dm.id)) == "Not a member of this channel"
    assert [e.type for e in events] == ["CallRinging"]  # the ring is untouched
    assert await error_of(calls.call_accept(alice, uuid.uuid4())) == "Channel not found"


async def test_nothing_to_accept_or_reject(people: dict[str, Any]) -> None:
    bob, dm = people["bob"], people["dm"]
    assert await error_of(calls.call_accept(bob, dm.id)) == "No active call in this channel"
    assert await error_of(calls.call_reject(bob, dm.id)) == "No active call in this channel"


async def test_reject_ends_the_ring(people: dict[str, Any], events: list[Any]) -> None:
    alice, bob, carol, group = people["alice"], people["bob"], people["carol"], people["group"]
    await calls.call_invite(alice, group.id)
    assert events[0].audience.users == ids(bob, carol)
    await calls.call_reject(carol, group.id)
    assert (events[-1].type, events[-1].payload) == (
        "CallRejected", {"channel_id": str(group.id), "user_id": str(carol.id)},
    )  # fmt: skip
    assert events[-1].audience.users == ids(alice, bob, carol)
    assert await error_of(calls.call_accept(bob, group.id)) == "No active call in this channel"
    await calls.call_invite(bob, group.id)  # a new ring is possible


def _body(message: Message) -> dict[str, Any]:
    return json.loads(bytes(message.encrypted_body))


async def test_end_of_a_connected_call_posts_its_duration(
    people: dict[str, Any], events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob, dm = people["alice"], people["bob"], people["dm"]
    clock = [1000.0]
    monkeypatch.setattr("voice.calls.time.time", lambda: clock[0])
    await calls.call_invite(alice, dm.id)
    await calls.call_accept(bob, dm.id)
    clock[0] += 125.7
    events.clear()
    await calls.call_end(bob, dm.id)
    assert [e.type for e in events] == ["NewMessage", "CallEnded"]
    new_message, ended = events
    assert new_message.audience == to_channels(dm.id) | to_users(alice.id, bob.id)
    assert new_message.payload["message_type"] == "system"
    body = json.loads(base64.b64decode(new_message.payload["encrypted_body"]))
    assert body == {
        "event": "call_ended", "username": "bob", "user_id": str(bob.id), "duration_secs": 125,
    }  # fmt: skip
    assert (ended.payload, ended.audience.users) == (
        {"channel_id": str(dm.id), "ended_by": str(bob.id)}, ids(alice, bob),
    )  # fmt: skip
    stored = await sync_to_async(lambda: _body(Message.objects.get(channel=dm)))()
    assert stored["duration_secs"] == 125


async def test_end_without_a_call_still_says_ended(
    people: dict[str, Any], events: list[Any]
) -> None:
    alice, dm = people["alice"], people["dm"]
    await calls.call_end(alice, dm.id)
    assert [(e.type, e.payload) for e in events] == [
        ("CallEnded", {"channel_id": str(dm.id), "ended_by": str(alice.id)})
    ]
    await calls.call_invite(alice, dm.id)
    await calls.call_end(alice, dm.id)  # cancelling a ring: no system message
    assert [e.type for e in events] == ["CallEnded", "CallRinging", "CallEnded"]
    assert not await sync_to_async(Message.objects.filter(channel=dm).exists)()


async def test_the_ring_times_out(
    people: dict[str, Any], events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "RING_SECONDS", 0.2)
    alice, bob, dm = people["alice"], people["bob"], people["dm"]
    await calls.call_invite(alice, dm.id)
    await eventually(lambda: len(events) >= 2)
    assert [(e.type, e.payload) for e in events] == [
        ("CallRinging", events[0].payload),
        ("CallEnded", {"channel_id": str(dm.id), "ended_by": str(alice.id)}),
    ]
    assert events[1].audience.users == ids(alice, bob)  # the caller included
    assert await error_of(calls.call_accept(bob, dm.id)) == "No active call in this channel"


async def test_another_instance_ends_a_ring_whose_timer_died(
    people: dict[str, Any], events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "RING_SECONDS", 0.1)
    alice, dm = people["alice"], people["dm"]
    await calls.call_invite(alice, dm.id)
    for task in list(calls._timers):  # the inviting instance crashed: its timer is gone
        task.cancel()
    await asyncio.sleep(0.2)
    assert await calls.expire_due_rings() == 1
    assert await calls.expire_due_rings() == 0  # exactly once
    assert [e.type for e in events] == ["CallRinging", "CallEnded"]


async def test_an_overdue_ring_ends_when_the_channel_is_touched(
    people: dict[str, Any], events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls, "RING_SECONDS", 0.1)
    alice, bob, dm = people["alice"], people["bob"], people["dm"]
    await calls.call_invite(alice, dm.id)
    for task in list(calls._timers):
        task.cancel()
    await asyncio.sleep(0.2)
    await calls.call_invite(bob, dm.id)  # not "already active": the old ring is over
    assert [(e.type, (e.payload or {}).get("ended_by")) for e in events] == [
        ("CallRinging", None),
        ("CallEnded", str(alice.id)),
        ("CallRinging", None),
    ]


async def test_group_members_can_join_a_connected_call(
    people: dict[str, Any], events: list[Any]
) -> None:
    alice, bob, carol, group = people["alice"], people["bob"], people["carol"], people["group"]
    await calls.call_invite(alice, group.id)
    await calls.call_accept(bob, group.id)
    await calls.call_accept(carol, group.id)
    assert [e.type for e in events] == ["CallRinging", "CallAccepted", "CallAccepted"]


async def test_disconnect_ends_rings_and_connected_calls(
    people: dict[str, Any], events: list[Any]
) -> None:
    alice, bob, dm, group = people["alice"], people["bob"], people["dm"], people["group"]
    await calls.call_invite(alice, dm.id)
    await calls.call_invite(bob, group.id)
    await calls.call_accept(alice, group.id)
    events.clear()
    await calls.user_disconnected(alice.id)
    ended = [(e.type, e.payload.get("channel_id")) for e in events]
    assert ("CallEnded", str(dm.id)) in ended
    assert ("CallEnded", str(group.id)) in ended
    assert ("NewMessage", str(group.id)) in ended  # the connected call left its system message
    assert all(e.payload.get("ended_by", str(alice.id)) == str(alice.id) for e in events)
    events.clear()
    await calls.user_disconnected(alice.id)  # nothing left to end
    assert events == []


async def test_calls_need_a_dm_or_group(people: dict[str, Any]) -> None:
    alice = people["alice"]

    def server_channel_member() -> Channel:
        channel = people["text"]
        ChannelMember.objects.get_or_create(channel=channel, user=alice)
        return channel

    channel = await sync_to_async(server_channel_member)()
    for handler in (calls.call_accept, calls.call_reject, calls.call_end):
        assert await error_of(handler(alice, channel.id)) == (
            "Calls are only supported in DMs and group DMs"
        )
