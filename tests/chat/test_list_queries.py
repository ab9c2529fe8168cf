"""The list routes that tests/chat/test_servers_queries.py does not cover run a fixed number of
queries whatever the length of the list (DESIGN.md 4): each case counts the queries of one
request, grows the list, and counts again."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import BlockedUser, User
from chat.models import Channel, PinnedMessage, Report, SenderKeyDistribution
from invites.actions.registration import do_grant_invites
from tests.factories import (
    befriend,
    make_dm,
    make_server,
    post,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@dataclass
class World:
    api: Api
    alice: User  # the first user: an instance admin
    channel_id: uuid.UUID  # a channel of alice's server
    made: int = 0

    def stranger(self) -> User:
        self.made += 1
        return User.objects.create(username=f"user{self.made}", password="x")


@pytest.fixture
def world(api: Api) -> World:
    (alice,) = users(api, "alice")
    return World(api, alice, make_server(alice).channel.id)


def grow_friends(world: World) -> None:
    befriend(world.stranger(), world.alice, accepted=False)
    befriend(world.alice, world.stranger())


def grow_blocks(world: World) -> None:
    BlockedUser.objects.create(blocker=world.alice, blocked=world.stranger())


def grow_dms(world: World) -> None:
    make_dm(world.alice, world.stranger(), status="pending", initiator=world.alice)


def grow_pins(world: World) -> None:
    message = post(Channel.objects.get(id=world.channel_id), world.alice)
    PinnedMessage.objects.create(channel_id=world.channel_id, message=message)


def grow_sender_keys(world: World) -> None:
    SenderKeyDistribution.objects.create(
        channel_id=world.channel_id,
        from_user=world.stranger(),
        to_user=world.alice,
        distribution_id=uuid.uuid4(),
        encrypted_skdm=b"skdm",
    )


def grow_invites(world: World) -> None:
    do_grant_invites(2, created_by=world.alice)


def grow_users(world: World) -> None:
    world.stranger()


def grow_reports(world: World) -> None:
    Report.objects.create(
        reporter=world.stranger(),
        message_id=uuid.uuid4(),
        channel_id=world.channel_id,
        reason="a reason long enough",
    )


CASES: list[tuple[str, str, Callable[[World], None]]] = [
    ("friends", "/api/v1/friends", grow_friends),
    ("blocked", "/api/v1/users/blocked", grow_blocks),
    ("dms", "/api/v1/dm", grow_dms),
    ("dm requests", "/api/v1/dm/requests", grow_dms),
    ("pins", "/api/v1/channels/{channel}/pins", grow_pins),
    ("pin ids", "/api/v1/channels/{channel}/pin-ids", grow_pins),
    ("sender keys", "/api/v1/channels/{channel}/sender-keys", grow_sender_keys),
    ("my registration invites", "/api/v1/registration-invites", grow_invites),
    ("admin registration invites", "/api/v1/admin/registration-invites", grow_invites),
    ("admin users", "/api/v1/admin/users", grow_users),
    ("admin reports", "/api/v1/admin/reports", grow_reports),
]


def count(world: World, path: str) -> tuple[int, int]:
    """(queries, length of the answer)."""
    with CaptureQueriesContext(connection) as queries:
        response = world.api.as_("alice").get(path)
    assert response.status_code == 200, response
    return len(queries), len(response.json())


@pytest.mark.parametrize(("name", "template", "grow"), CASES, ids=[c[0] for c in CASES])
def test_list_query_count_is_fixed(
    world: World, name: str, template: str, grow: Callable[[World], None]
) -> None:
    path = template.format(channel=world.channel_id)
    grow(world)
    small, short = count(world, path)
    for _ in range(5):
        grow(world)
    large, long = count(world, path)
    assert long > short, f"{name}: the list did not grow ({short} -> {long})"
    assert small == large, f"{name}: {small} queries for {short} entries, {large} for {long}"
