"""Read states: MarkRead (websocket.md 3.11), PUT read-state and GET read-states (api.md 2.10)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.actions import read_states
from chat.models import ReadState
from haven_site.api.errors import ApiError
from realtime.events import to_users
from tests.factories import (
    add_channel,
    add_member,
    make_dm,
    make_server,
    post,
    published,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def test_mark_read_updates_and_tells_all_of_the_users_connections(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    with published() as events:
        state = read_states.do_mark_read(alice, fx.channel.id)
        again = read_states.do_mark_read(alice, fx.channel.id)
    assert ReadState.objects.get().last_read_at == again.last_read_at
    assert again.last_read_at >= state.last_read_at
    assert [(e.type, e.audience) for e in events] == [
        ("ReadStateUpdated", to_users(alice.id)),
        ("ReadStateUpdated", to_users(alice.id)),
    ]
    assert set(events[0].payload) == {"channel_id", "last_read_at"}
    assert events[0].payload["channel_id"] == str(fx.channel.id)


def test_mark_read_refusal_texts(api: Api) -> None:
    alice, mallory = users(api, "alice", "mallory")
    fx = make_server(alice)
    secret = add_channel(fx.server, private=True)
    add_member(fx.server, mallory)
    for channel_id in (uuid.uuid4(), secret.id):
        with pytest.raises(ApiError) as info:
            read_states.do_mark_read(mallory, channel_id)
        assert (info.value.status_code, info.value.message) == (403, "Cannot access this channel")
        response = api.as_("mallory").put(f"/api/v1/channels/{channel_id}/read-state")
        assert response.json() == {"error": "Not a member of this channel", "status": 403}


def test_rest_put_read_state(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    with published() as events:
        response = api.as_("alice").put(f"/api/v1/channels/{fx.channel.id}/read-state")
    data = response.json()
    assert data["user_id"] == str(alice.id)
    assert data["channel_id"] == str(fx.channel.id)
    assert data["last_read_at"].endswith("Z")
    assert events[0].payload == {
        "channel_id": str(fx.channel.id),
        "last_read_at": data["last_read_at"],
    }


def test_read_states_report_unread_counts_for_visible_channels(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    quiet = add_channel(fx.server)  # no messages: left out
    secret = add_channel(fx.server, private=True)
    post(secret, alice)  # bob cannot see it: left out
    dm = make_dm(alice, bob)
    group = make_dm(alice, bob, group=True)
    for _ in range(3):
        post(fx.channel, alice)
    read_states.do_mark_read(bob, fx.channel.id)
    post(fx.channel, bob)
    last = post(fx.channel, alice)
    post(dm, alice)
    newest_dm = post(dm, alice)
    post(group, bob, expires_at=timezone.now() - timedelta(seconds=1))  # expired: left out
    rows = {r["channel_id"]: r for r in api.as_("bob").get("/api/v1/channels/read-states").json()}
    assert set(rows) == {str(fx.channel.id), str(dm.id)}
    assert str(quiet.id) not in rows
    assert rows[str(fx.channel.id)] == {
        "channel_id": str(fx.channel.id),
        "last_message_id": str(last.id),
        "last_message_at": rows[str(fx.channel.id)]["last_message_at"],
        "unread_count": 2,  # the caller's own message counts too
    }
    assert rows[str(fx.channel.id)]["last_message_at"].endswith("Z")
    assert rows[str(dm.id)]["unread_count"] == 2  # never read: all of them
    assert rows[str(dm.id)]["last_message_id"] == str(newest_dm.id)
    owner_rows = api.as_("alice").get("/api/v1/channels/read-states").json()
    assert str(secret.id) in {r["channel_id"] for r in owner_rows}


def test_read_states_without_anything(api: Api) -> None:
    users(api, "alice")
    assert api.as_("alice").get("/api/v1/channels/read-states").json() == []


def test_read_states_query_count_is_fixed(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.as_("bob").get("/api/v1/channels/read-states").status_code == 200
        return len(ctx.captured_queries)

    fx = make_server(alice)
    add_member(fx.server, bob)
    post(fx.channel, alice)
    few = count()
    for _ in range(3):
        more = make_server(alice)
        add_member(more.server, bob)
        for _ in range(3):
            channel = add_channel(more.server, private=True)
            post(channel, alice)
            post(more.channel, alice)
        post(make_dm(alice, bob), alice)
    assert count() == few
