"""Every list route runs a fixed number of queries whatever the length of the list.

Each case builds a small list, counts the queries of the request, grows the list, and counts
again: the two counts must be equal and within the pinned budget (which includes the one query
of the bearer authentication).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from chat.actions.audit import record_audit
from chat.models import Channel, ChannelCategory, ChannelMember, PermissionOverwrite, Role
from tests.chat.conftest import P, assign, create_server, join, make_role
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@dataclass
class World:
    api: Api
    sid: str
    general: str
    extra_users: list[str]

    def user(self) -> str:
        name = f"user{len(self.extra_users)}"
        self.api.register(name)
        self.extra_users.append(name)
        return name


@pytest.fixture
def world(api: Api) -> World:
    api.register("alice")
    api.register("bob")
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")  # a plain member: permissions and overwrites apply
    return World(api, server["id"], server["system_channel_id"], [])


def count(world: World, viewer: str, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = world.api.as_(viewer).get(path)
    assert response.status_code == 200, response
    return len(queries)


def add_servers(world: World, n: int) -> None:
    for _ in range(n):
        server = create_server(world.api, "alice")
        join(world.api, "alice", server["id"], "bob")
        assign(
            world.api, "alice", server["id"], "bob", make_role(world.api, "alice", server["id"], 0)
        )


def add_channels(world: World, n: int) -> None:
    everyone = Role.objects.get(server_id=world.sid, is_default=True)
    for _ in range(n):
        channel = Channel.objects.create(server_id=world.sid, is_private=True)
        PermissionOverwrite.objects.create(
            channel=channel, target_type="role", target_id=everyone.id, deny_bits=128
        )


def add_categories(world: World, n: int) -> None:
    for _ in range(n):
        ChannelCategory.objects.create(server_id=world.sid, name="c")


def add_roles(world: World, n: int) -> None:
    for _ in range(n):
        make_role(world.api, "alice", world.sid, 0)


def add_members(world: World, n: int) -> None:
    for _ in range(n):
        name = world.user()
        join(world.api, "alice", world.sid, name)
        assign(world.api, "alice", world.sid, name, make_role(world.api, "alice", world.sid, 0))


def add_invites(world: World, n: int) -> None:
    for _ in range(n):
        world.api.as_("alice").post(f"{P}/servers/{world.sid}/invites", {})


def add_bans(world: World, n: int) -> None:
    for _ in range(n):
        name = world.user()
        world.api.as_("alice").post(f"{P}/servers/{world.sid}/bans/{world.api.users[name].id}", {})


def add_audit(world: World, n: int) -> None:
    alice = User.objects.get(username="alice")
    for _ in range(n):
        record_audit(uuid.UUID(world.sid), alice.id, "x")


def add_overwrites(world: World, n: int) -> None:
    for _ in range(n):
        role = make_role(world.api, "alice", world.sid, 0)
        PermissionOverwrite.objects.create(
            channel_id=world.general, target_type="role", target_id=role
        )


def add_channel_members(world: World, n: int) -> None:
    for _ in range(n):
        name = world.user()
        ChannelMember.objects.create(channel_id=world.general, user_id=world.api.users[name].id)
        join(world.api, "alice", world.sid, name)


# (name, viewer, path, how to grow the list, queries). Budgets: 1 authentication; access to the
# server (1 server, +1 membership for a non-owner, 1 roles) or to a channel (1 channel with its
# server, 1 membership, 1 roles, 1 overwrites); then the list (1, or 2 with a second lookup).
CASES: list[tuple[str, str, str, Callable[[World, int], None], int]] = [
    ("servers", "bob", "/servers", add_servers, 4),
    ("channels", "bob", "/servers/{sid}/channels", add_channels, 6),
    ("categories", "bob", "/servers/{sid}/categories", add_categories, 5),
    ("roles", "bob", "/servers/{sid}/roles", add_roles, 5),
    ("members", "bob", "/servers/{sid}/members", add_members, 6),
    ("invites", "alice", "/servers/{sid}/invites", add_invites, 4),
    ("bans", "alice", "/servers/{sid}/bans", add_bans, 4),
    ("audit log", "alice", "/servers/{sid}/audit-log", add_audit, 4),
    ("overwrites", "bob", "/channels/{general}/overwrites", add_overwrites, 6),
    ("channel members", "bob", "/channels/{general}/members", add_channel_members, 6),
]


@pytest.mark.parametrize(
    ("name", "viewer", "template", "grow", "budget"), CASES, ids=[c[0] for c in CASES]
)
def test_list_query_count_is_fixed(
    world: World,
    name: str,
    viewer: str,
    template: str,
    grow: Callable[[World, int], None],
    budget: int,
) -> None:
    path = P + template.format(sid=world.sid, general=world.general)
    grow(world, 2)
    small = count(world, viewer, path)
    grow(world, 6)
    large = count(world, viewer, path)
    assert small == large, f"{name}: {small} queries for a short list, {large} for a longer one"
    assert large == budget, f"{name}: {large} queries, budget {budget}"
