"""Reactions: AddReaction/RemoveReaction actions (websocket.md 3.4-3.5) and the REST lists."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import reactions
from chat.models import Reaction
from chat.permissions import Permission
from haven_site.api.errors import ApiError
from realtime.events import to_channels
from tests.factories import (
    add_member,
    add_overwrite,
    make_dm,
    make_server,
    post,
    published,
    time_out,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def error_of(call: object, *args: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.status_code, info.value.message


def test_add_reaction_publishes_with_a_token_and_is_idempotent(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    with published() as events:
        first = reactions.do_add_reaction(alice, message.id, "👍")
        again = reactions.do_add_reaction(alice, message.id, "👍")
    assert Reaction.objects.count() == 1
    assert first.sender_token == again.sender_token
    uuid.UUID(first.sender_token)  # a random UUID string, never the user id
    assert [(e.type, e.audience) for e in events] == [
        ("ReactionAdded", to_channels(fx.channel.id)),
        ("ReactionAdded", to_channels(fx.channel.id)),
    ]
    assert events[0].payload == {
        "message_id": str(message.id),
        "channel_id": str(fx.channel.id),
        "sender_token": first.sender_token,
        "emoji": "👍",
    }


def test_remove_reaction_sends_the_stored_token_and_nothing_when_absent(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    reaction = reactions.do_add_reaction(alice, message.id, "x")
    with published() as events:
        reactions.do_remove_reaction(alice, message.id, "x")
        reactions.do_remove_reaction(alice, message.id, "x")  # silently nothing
    assert not Reaction.objects.exists()
    assert [(e.type, e.payload["sender_token"]) for e in events] == [
        ("ReactionRemoved", reaction.sender_token)
    ]


def test_reaction_errors(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    fx = make_server(alice)
    add_member(fx.server, bob)
    message = post(fx.channel, alice)
    expired = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    add = reactions.do_add_reaction
    assert error_of(add, bob, uuid.uuid4(), "x") == (404, "Message not found")
    assert error_of(add, bob, expired.id, "x") == (404, "Message not found")
    assert error_of(add, mallory, message.id, "x") == (403, "Not a member of this channel")
    assert error_of(reactions.do_remove_reaction, mallory, message.id, "x") == (
        403,
        "Not a member of this channel",
    )
    assert error_of(add, bob, message.id, "x" * 65) == (
        400,
        "Failed to add reaction: emoji must be 1-64 characters",
    )
    assert error_of(add, bob, message.id, "") == (
        400,
        "Failed to add reaction: emoji must be 1-64 characters",
    )
    reactions.do_add_reaction(bob, message.id, "x" * 64)
    time_out(fx.server, bob)
    assert error_of(add, bob, message.id, "y") == (403, "You are timed out in this server")
    reactions.do_remove_reaction(bob, message.id, "x" * 64)  # removing is not blocked by a timeout


def test_add_reactions_permission(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.ADD_REACTIONS)
    message = post(fx.channel, alice)
    assert error_of(reactions.do_add_reaction, bob, message.id, "x") == (
        403,
        "Missing required permission",
    )


def test_dm_participants_react(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    reactions.do_add_reaction(bob, post(dm, alice).id, "x")


def test_rest_reaction_lists(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    first, second = post(fx.channel, alice), post(fx.channel, alice)
    reactions.do_add_reaction(alice, first.id, "a")
    reactions.do_add_reaction(bob, first.id, "a")
    reactions.do_add_reaction(bob, second.id, "b")
    as_bob = api.as_("bob")
    groups = as_bob.get(f"/api/v1/channels/{fx.channel.id}/reactions").json()
    assert sorted(groups, key=lambda g: g["emoji"]) == [
        {
            "message_id": str(first.id),
            "emoji": "a",
            "count": 2,
            "user_ids": [str(alice.id), str(bob.id)],
        },
        {"message_id": str(second.id), "emoji": "b", "count": 1, "user_ids": [str(bob.id)]},
    ]
    one = as_bob.get(f"/api/v1/messages/{second.id}/reactions").json()
    assert one == [
        {"message_id": str(second.id), "emoji": "b", "count": 1, "user_ids": [str(bob.id)]}
    ]


def test_channel_reactions_cover_the_50_newest_live_messages(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    old = post(fx.channel, alice)
    reactions.do_add_reaction(alice, old.id, "old")
    for _ in range(50):
        post(fx.channel, alice)
    expired = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    Reaction.objects.create(message=expired, user=alice, emoji="expired")
    newest = post(fx.channel, alice)
    reactions.do_add_reaction(alice, newest.id, "new")
    groups = api.as_("alice").get(f"/api/v1/channels/{fx.channel.id}/reactions").json()
    assert [g["emoji"] for g in groups] == ["new"]


def test_rest_reaction_list_errors(api: Api) -> None:
    alice, bob, _mallory = users(api, "alice", "bob", "mallory")
    fx = make_server(alice)
    add_member(fx.server, bob)
    message = post(fx.channel, alice)
    as_mallory, as_bob = api.as_("mallory"), api.as_("bob")
    assert as_mallory.get(f"/api/v1/channels/{fx.channel.id}/reactions").json() == {
        "error": "Not a member of this channel",
        "status": 403,
    }
    assert as_mallory.get(f"/api/v1/messages/{message.id}/reactions").status_code == 403
    assert as_bob.get(f"/api/v1/messages/{uuid.uuid4()}/reactions").json() == {
        "error": "Message not found",
        "status": 404,
    }
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.READ_MESSAGE_HISTORY)
    for path in (
        f"/api/v1/channels/{fx.channel.id}/reactions",
        f"/api/v1/messages/{message.id}/reactions",
    ):
        assert as_bob.get(path).json() == {"error": "Missing required permission", "status": 403}


def test_channel_reactions_query_count_is_fixed(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    as_alice = api.as_("alice")
    path = f"/api/v1/channels/{fx.channel.id}/reactions"

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            as_alice.get(path)
        return len(ctx.captured_queries)

    reactions.do_add_reaction(alice, post(fx.channel, alice).id, "x")
    few = count()
    for i in range(20):
        message = post(fx.channel, alice)
        for emoji in ("a", "b", str(i)):
            reactions.do_add_reaction(alice, message.id, emoji)
    assert count() == few
