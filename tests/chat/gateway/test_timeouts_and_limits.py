"""A timeout silences every way of posting over the socket, and the per-operation rate limits
beside SendMessage's (issue 10 item 5; docs/realtime.md, "Rate limits")."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from chat.gateway.identity import RATE_LIMITED
from haven_site.ratelimit import count_ws_op
from tests.chat.gateway.test_operations import _world, close_all, connect, error_of, send
from tests.helpers import TestUser, b64, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)

TIMED_OUT = "You are timed out in this server"


@pytest.fixture
async def world(users: dict[str, TestUser]) -> dict[str, Any]:
    """As test_operations: alice's server with bob as a member, a DM alice-bob, carol outside."""
    return await sync_to_async(_world)(users)


def _time_out(server_id: uuid.UUID, user_id: str, *, hours: float = 1) -> None:
    from chat.models import ServerMember

    until = timezone.now() + timedelta(hours=hours)
    ServerMember.objects.filter(server_id=server_id, user_id=user_id).update(timed_out_until=until)


def _make_moderator(server_id: uuid.UUID, user_id: str) -> None:
    from chat.models import Server
    from chat.permissions import Permission
    from tests.factories import (
        add_role,
    )

    add_role(Server.objects.get(id=server_id), user_id, Permission.MANAGE_MESSAGES)


def _state(message_ids: list[str], bob_id: str) -> dict[str, Any]:
    from chat.models import Message, PinnedMessage, Reaction

    return {
        "bodies": {
            str(m.id): bytes(m.encrypted_body) for m in Message.objects.filter(id__in=message_ids)
        },
        "pins": set(PinnedMessage.objects.values_list("message_id", flat=True)),
        "reactions": set(Reaction.objects.filter(user_id=bob_id).values_list("emoji", flat=True)),
        "messages": Message.objects.count(),
    }


def edit(message_id: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "EditMessage",
        "payload": {"message_id": message_id, "encrypted_body": b64(body)},
    }


def pin(kind: str, channel_id: str, message_id: str) -> dict[str, Any]:
    return {"type": kind, "payload": {"channel_id": channel_id, "message_id": message_id}}


def react(kind: str, message_id: str, emoji: str = "👍") -> dict[str, Any]:
    return {"type": kind, "payload": {"message_id": message_id, "emoji": emoji}}


# --- A timeout -----------------------------------------------------------------------------------


async def test_a_timeout_refuses_edits_pins_unpins_and_reactions(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    """bob, a moderator (MANAGE_MESSAGES), is timed out: every operation that would put something
    new before the channel is refused with the send's error, and nothing reaches the others.
    Taking his own reaction back stays allowed, as deleting his own message does."""
    await sync_to_async(_make_moderator)(world["server"], users["bob"].id)
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    await alice.subscribe(world["text"])
    alices = await send(alice, world["text"], b"alice's")
    bobs = await send(bob, world["text"], b"bob's")
    pinned = await send(bob, world["text"], b"pinned")
    await bob.send(pin("PinMessage", world["text"], pinned))
    await bob.send(react("AddReaction", alices))
    expected = ["NewMessage"] * 3 + ["MessagePinned", "NewMessage", "ReactionAdded"]
    for kind in expected:
        await alice.expect(kind)
    await sync_to_async(_time_out)(world["server"], users["bob"].id)
    before = await sync_to_async(_state)([alices, bobs, pinned], users["bob"].id)

    assert await error_of(bob, edit(bobs, b"changed")) == TIMED_OUT
    assert await error_of(bob, pin("PinMessage", world["text"], alices)) == TIMED_OUT
    assert await error_of(bob, pin("PinMessage", world["text"], bobs)) == TIMED_OUT
    assert await error_of(bob, pin("UnpinMessage", world["text"], pinned)) == TIMED_OUT
    assert await error_of(bob, react("AddReaction", alices, "🎉")) == TIMED_OUT
    await alice.silent()
    assert await sync_to_async(_state)([alices, bobs, pinned], users["bob"].id) == before

    await bob.send(react("RemoveReaction", alices))
    assert (await alice.expect("ReactionRemoved"))["payload"]["emoji"] == "👍"
    await bob.send({"type": "DeleteMessage", "payload": {"message_id": bobs}})
    assert (await alice.expect("MessageDeleted"))["payload"]["message_id"] == bobs
    await close_all(alice, bob)


async def test_a_timeout_does_not_reach_dms_nor_outlive_itself(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    in_dm = await send(bob, world["dm"], b"dm")
    await alice.expect("NewMessage")
    await sync_to_async(_time_out)(world["server"], users["bob"].id)
    await bob.send(edit(in_dm, b"dm, edited"))
    await bob.send(pin("PinMessage", world["dm"], in_dm))
    await bob.send(react("AddReaction", in_dm))
    await bob.sync()
    assert "Error" not in [frame["type"] for frame in bob.pending]
    assert await sync_to_async(_state)([in_dm], users["bob"].id) == {
        "bodies": {in_dm: b"dm, edited"},
        "pins": {uuid.UUID(in_dm)},
        "reactions": {"👍"},
        "messages": 2,  # and the pin's system message
    }

    await sync_to_async(_time_out)(world["server"], users["bob"].id, hours=-1)  # ran out
    mine = await send(bob, world["text"], b"after")
    await bob.send(edit(mine, b"after, edited"))
    await bob.send(pin("PinMessage", world["text"], mine))
    await bob.send(react("AddReaction", mine, "🎉"))
    await bob.sync()
    assert "Error" not in [frame["type"] for frame in bob.pending]
    after = await sync_to_async(_state)([mine], users["bob"].id)
    assert after["bodies"] == {mine: b"after, edited"}
    assert uuid.UUID(mine) in after["pins"]
    assert "🎉" in after["reactions"]
    await close_all(alice, bob)


# --- Per-operation rate limits -------------------------------------------------------------------


def limits(**changes: tuple[int, int]) -> Any:
    """Rate limits on, with some gateway limits changed."""
    return haven_settings(
        rate_limits_enabled=True, ws_rate_limits={**settings.HAVEN.ws_rate_limits, **changes}
    )


def test_default_limits_and_their_counting() -> None:
    assert settings.HAVEN.ws_rate_limits == {
        "send": (30, 10),
        "typing": (20, 10),
        "pin": (10, 10),
        "reaction": (30, 10),
        "edit": (20, 10),
        "delete": (30, 10),
    }
    with haven_settings(rate_limits_enabled=True):
        for op, (count, _) in settings.HAVEN.ws_rate_limits.items():
            user, other = uuid.uuid4(), str(uuid.uuid4())
            assert [count_ws_op(op, user)[0] for _ in range(count + 2)] == (
                [True] * count + [False, False]
            ), op
            assert count_ws_op(op, other)[0], op  # per user
    with pytest.raises(ValueError, match="unknown gateway operation"):
        count_ws_op("shout", uuid.uuid4())


def test_the_typing_limit_is_its_own() -> None:
    """The Typing handler (chat/gateway/session.py) drops what this refuses."""
    user = uuid.uuid4()
    with limits(typing=(3, 60), send=(1, 60)):
        assert count_ws_op("send", user)[0]
        assert [count_ws_op("typing", user)[0] for _ in range(4)] == [True] * 3 + [False]
        assert not count_ws_op("send", user)[0]


async def test_pins_and_unpins_share_a_limit(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    first, second = await send(alice, world["text"]), await send(alice, world["text"])
    with limits(pin=(2, 60)):
        await alice.send(pin("PinMessage", world["text"], first))
        await alice.send(pin("UnpinMessage", world["text"], first))
        assert await error_of(alice, pin("PinMessage", world["text"], second)) == RATE_LIMITED
        # Every attempt counts, a refused one too; other operations and users are not limited.
        assert await error_of(alice, pin("UnpinMessage", world["text"], first)) == RATE_LIMITED
        await alice.send(react("AddReaction", second))
        await bob.send(pin("PinMessage", world["text"], await send(bob, world["text"])))
        for ws in (alice, bob):
            await ws.sync()
            assert "Error" not in [frame["type"] for frame in ws.pending]
    assert await sync_to_async(_pinned)() == 1  # only bob's
    await close_all(alice, bob)


async def test_reactions_added_and_removed_share_a_limit(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    message = await send(alice, world["text"])
    with limits(reaction=(3, 60)):
        for kind in ("AddReaction", "RemoveReaction", "AddReaction"):
            await alice.send(react(kind, message))
        assert await error_of(alice, react("RemoveReaction", message)) == RATE_LIMITED
        assert await error_of(alice, react("AddReaction", message, "🎉")) == RATE_LIMITED
    assert await sync_to_async(_emojis)() == ["👍"]
    await alice.close()


async def test_edits_and_deletes_have_limits_counted_per_user_on_every_connection(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    """Two connections of one user share the count, as two instances do (the cache holds it)."""
    first, second = await connect(users, "alice"), await connect(users, "alice")
    message = await send(first, world["text"], b"v1")
    doomed = [await send(first, world["text"]) for _ in range(3)]
    with limits(edit=(2, 60), delete=(2, 60)):
        await first.send(edit(message, b"v2"))
        await first.sync()
        await second.send(edit(message, b"v3"))
        await second.sync()
        assert await error_of(first, edit(message, b"v4")) == RATE_LIMITED
        assert await error_of(second, edit(message, b"v5")) == RATE_LIMITED
        await first.send({"type": "DeleteMessage", "payload": {"message_id": doomed[0]}})
        await first.sync()
        await second.send({"type": "DeleteMessage", "payload": {"message_id": doomed[1]}})
        await second.sync()
        delete = {"type": "DeleteMessage", "payload": {"message_id": doomed[2]}}
        assert await error_of(first, delete) == RATE_LIMITED
    assert await sync_to_async(_bodies)() == {message: b"v3", doomed[2]: b"ciphertext"}
    await close_all(first, second)


async def test_limits_are_off_when_rate_limits_are(
    users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice = await connect(users, "alice")
    message = await send(alice, world["text"])
    with haven_settings(
        rate_limits_enabled=False,
        ws_rate_limits=dict.fromkeys(settings.HAVEN.ws_rate_limits, (1, 60)),
    ):
        for _ in range(3):
            await alice.send(react("AddReaction", message))
            await alice.send(edit(message, b"again"))
        await alice.sync()
        assert "Error" not in [frame["type"] for frame in alice.pending]
    await alice.close()


def _pinned() -> int:
    from chat.models import PinnedMessage

    return PinnedMessage.objects.count()


def _emojis() -> list[str]:
    from chat.models import Reaction

    return list(Reaction.objects.values_list("emoji", flat=True))


def _bodies() -> dict[str, bytes]:
    from chat.models import Message

    return {str(m.id): bytes(m.encrypted_body) for m in Message.objects.filter(message_type="user")}
