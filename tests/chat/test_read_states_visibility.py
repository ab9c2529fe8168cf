"""The bulk visibility loaders (used by read states, member keys and sender-key recipients) agree
with the one-user-one-channel rule of ``chat.access.channel_access`` on random configurations."""

from __future__ import annotations

import random

import pytest

from chat.access import channel_access, channel_reader_ids, visible_channel_ids
from chat.models import Channel, MemberRole, PermissionOverwrite, Role
from chat.permissions import Permission
from tests.factories import (
    add_channel,
    add_member,
    make_server,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

BITS = [
    0,
    int(Permission.VIEW_CHANNELS),
    int(Permission.SEND_MESSAGES),
    int(Permission.ADMINISTRATOR),
    int(Permission.VIEW_CHANNELS | Permission.SEND_MESSAGES),
]


@pytest.mark.parametrize("seed", range(6))
def test_bulk_loaders_match_channel_access(api: Api, seed: int) -> None:
    rng = random.Random(seed)
    owner, *people = users(api, "owner", "ann", "ben", "cat", "dan")
    fx = make_server(owner, everyone=rng.choice(BITS))
    for person in people[:-1]:  # the last one stays outside the server
        add_member(fx.server, person)
    roles = [
        Role.objects.create(
            server=fx.server, name=f"r{i}", permissions=rng.choice(BITS), position=i
        )
        for i in range(1, 4)
    ]
    for person in people:
        for role in rng.sample(roles, rng.randint(0, 2)):
            MemberRole.objects.create(server=fx.server, user=person, role=role)
    channels = [fx.channel] + [add_channel(fx.server, private=rng.random() < 0.5) for _ in range(3)]
    for channel in channels:
        targets = [("role", fx.everyone.id), *(("role", r.id) for r in roles)]
        targets += [("member", p.id) for p in people]
        for target_type, target_id in rng.sample(targets, 3):
            if channel.overwrites.filter(target_type=target_type, target_id=target_id).exists():
                continue
            PermissionOverwrite.objects.create(  # any rows, members or not: no action
                channel=channel,
                target_type=target_type,
                target_id=target_id,
                allow_bits=rng.choice(BITS),
                deny_bits=rng.choice(BITS),
            )
    other = make_server(people[0])  # a server only ann owns
    everyone = [owner, *people]
    for channel in Channel.objects.filter(server=fx.server).select_related("server"):
        expected = {u.id for u in everyone if channel_access(u.id, channel) is not None}
        assert channel_reader_ids(channel) == expected
    for user in everyone:
        expected = {
            c.id
            for c in Channel.objects.select_related("server")
            if channel_access(user.id, c) is not None
        }
        assert visible_channel_ids(user.id) == expected
    assert other.channel.id in visible_channel_ids(people[0].id)
