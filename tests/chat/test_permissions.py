"""The permission model (api.md section 3), property-tested, and the loaders that feed it."""

from __future__ import annotations

import itertools
import uuid
from functools import reduce
from operator import or_

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.models import Channel, PermissionOverwrite, Role, Server
from chat.permissions import (
    ALL,
    DEFAULT_EVERYONE,
    KNOWN_BITS,
    Overwrite,
    Permission,
    ServerPermissions,
    channel_bits,
    has,
    outranks_position,
    permissions_in_channel,
    permissions_in_channels,
    permissions_in_server,
    permissions_in_servers,
    server_bits,
    ungrantable_bits,
)
from tests.chat.conftest import P, create_server, grant, join, make_role
from tests.helpers import Api

ADMIN = int(Permission.ADMINISTRATOR)
# Permission values as stored: any signed 64-bit integer, biased towards the 27 known bits.
bits = st.one_of(
    st.integers(min_value=0, max_value=KNOWN_BITS),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
no_admin = bits.map(lambda b: b & ~ADMIN)
overwrites = st.builds(Overwrite, allow=bits, deny=bits)


def test_bit_values() -> None:
    assert DEFAULT_EVERYONE == 1731456
    assert ALL == 9223372036854775807
    assert len(Permission) == 27
    assert [int(p) for p in Permission] == [1 << i for i in range(27)]
    assert int(Permission.MANAGE_NICKNAMES) == 67108864


# --- server_bits (3.3) ---------------------------------------------------------------------------


@given(everyone=st.none() | bits, roles=st.lists(bits, max_size=5))
def test_owner_holds_everything(everyone: int | None, roles: list[int]) -> None:
    assert server_bits(is_owner=True, everyone=everyone, roles=roles) == ALL


@given(everyone=st.none() | no_admin, roles=st.lists(no_admin, max_size=5))
def test_server_bits_is_the_union_of_everyone_and_roles(
    everyone: int | None, roles: list[int]
) -> None:
    base = DEFAULT_EVERYONE if everyone is None else everyone
    expected = reduce(or_, roles, base)
    assert server_bits(is_owner=False, everyone=everyone, roles=roles) == expected
    for order in itertools.islice(itertools.permutations(roles), 6):
        assert server_bits(is_owner=False, everyone=everyone, roles=list(order)) == expected


@given(everyone=st.none() | bits, roles=st.lists(bits, max_size=5), where=st.integers(0, 5))
def test_administrator_anywhere_grants_everything(
    everyone: int | None, roles: list[int], where: int
) -> None:
    if where == 0 or not roles:
        everyone = (everyone or 0) | ADMIN
    else:
        roles[where % len(roles)] |= ADMIN
    assert server_bits(is_owner=False, everyone=everyone, roles=roles) == ALL


@given(everyone=st.none() | bits, roles=st.lists(bits, max_size=4), extra=bits)
def test_more_roles_never_take_permissions_away(
    everyone: int | None, roles: list[int], extra: int
) -> None:
    before = server_bits(is_owner=False, everyone=everyone, roles=roles)
    after = server_bits(is_owner=False, everyone=everyone, roles=[*roles, extra])
    assert before & after == before or after == ALL


@given(held=bits, needed=st.integers(0, KNOWN_BITS))
def test_has(held: int, needed: int) -> None:
    assert has(held, needed) == bool(held & ADMIN or held & needed == needed)
    assert has(held | ADMIN, needed)


# --- channel_bits (3.4) --------------------------------------------------------------------------


def reference_channel_bits(
    base: int, everyone: Overwrite | None, roles: list[Overwrite], member: Overwrite | None
) -> int:
    """The four steps of api.md 3.4, written out independently."""
    if base & ADMIN or base == ALL:
        return ALL
    p = base
    if everyone:
        p = (p & ~everyone.deny) | everyone.allow
    a = reduce(or_, (o.allow for o in roles), 0)
    d = reduce(or_, (o.deny for o in roles), 0)
    p = (p & ~d) | a
    if member:
        p = (p & ~member.deny) | member.allow
    return p & ALL


@given(
    base=no_admin,
    everyone=st.none() | overwrites,
    roles=st.lists(overwrites, max_size=4),
    member=st.none() | overwrites,
)
def test_channel_bits_follow_the_spec(
    base: int, everyone: Overwrite | None, roles: list[Overwrite], member: Overwrite | None
) -> None:
    got = channel_bits(base, everyone=everyone, roles=roles, member=member)
    assert got == reference_channel_bits(base, everyone, roles, member)
    # role overwrites are a union: their order does not matter
    for order in itertools.islice(itertools.permutations(roles), 6):
        assert channel_bits(base, everyone=everyone, roles=list(order), member=member) == got
    # the member overwrite has the last word
    if member is not None:
        assert got & member.allow & ALL == member.allow & ALL
        assert got & member.deny & ~member.allow == 0


@given(base=no_admin, everyone=overwrites, roles=st.lists(overwrites, min_size=1, max_size=3))
def test_role_allows_beat_role_denies_and_everyone(
    base: int, everyone: Overwrite, roles: list[Overwrite]
) -> None:
    got = channel_bits(base, everyone=everyone, roles=roles, member=None)
    allowed = reduce(or_, (o.allow for o in roles), 0) & ALL
    assert got & allowed == allowed


@given(
    base=bits,
    everyone=st.none() | overwrites,
    roles=st.lists(overwrites, max_size=3),
    member=st.none() | overwrites,
)
def test_owner_and_admin_skip_overwrites(
    base: int, everyone: Overwrite | None, roles: list[Overwrite], member: Overwrite | None
) -> None:
    for privileged in (ALL, base | ADMIN):
        assert channel_bits(privileged, everyone=everyone, roles=roles, member=member) == ALL


# --- Hierarchy and grants ------------------------------------------------------------------------


def perms(*, owner: bool = False, held: int = 0, top: int = 0) -> ServerPermissions:
    return ServerPermissions(
        bits=ALL if owner else held,
        is_owner=owner,
        is_member=True,
        role_ids=frozenset(),
        default_role_id=None,
        top_position=top,
    )


@given(top=st.integers(-(2**31), 2**31 - 1), position=st.integers(-(2**31), 2**31 - 1))
def test_hierarchy(top: int, position: int) -> None:
    assert outranks_position(perms(owner=True, top=top), position)
    assert outranks_position(perms(top=top), position) == (position < top)


@given(held=bits, requested=bits)
def test_one_grants_only_what_one_holds(held: int, requested: int) -> None:
    missing = ungrantable_bits(perms(held=held), requested)
    if held & ADMIN:
        assert missing == 0
    else:
        assert missing == requested & KNOWN_BITS & ~held
    assert ungrantable_bits(perms(owner=True), requested) == 0


# --- Loaders agree with the rules ----------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_loaders_match_single_loaders(api: Api) -> None:
    for name in ("alice", "bob", "carol"):
        api.register(name)
    servers = [create_server(api, "alice") for _ in range(3)]
    for i, server in enumerate(servers):
        join(api, "alice", server["id"], "bob")
        grant(api, "alice", server["id"], "bob", 1 << (20 + i), position=i + 1)
    create_server(api, "carol")
    bob = uuid.UUID(api.users["bob"].id)
    rows = list(Server.objects.all())
    bulk = permissions_in_servers(bob, rows)
    for row in rows:
        assert bulk[row.id] == permissions_in_server(bob, row)
    sid = servers[0]["id"]
    role = make_role(api, "alice", sid, 0, position=1)
    api.as_("alice").put(f"{P}/servers/{sid}/members/{bob}/roles", {"role_id": role})
    everyone = Role.objects.get(server_id=sid, is_default=True)
    channels = [Channel.objects.create(server_id=sid) for _ in range(4)]
    PermissionOverwrite.objects.create(
        channel=channels[0], target_type="role", target_id=everyone.id, deny_bits=128
    )
    PermissionOverwrite.objects.create(
        channel=channels[1], target_type="role", target_id=role, allow_bits=64, deny_bits=256
    )
    PermissionOverwrite.objects.create(
        channel=channels[2], target_type="member", target_id=bob, deny_bits=2048
    )
    PermissionOverwrite.objects.create(
        channel=channels[3], target_type="member", target_id=uuid.uuid4(), deny_bits=-1
    )
    server_perms = permissions_in_server(bob, Server.objects.get(id=sid))
    many = permissions_in_channels(bob, channels, server_perms)
    for channel in channels:
        assert many[channel.id] == permissions_in_channel(bob, channel, server_perms)
    assert not has(many[channels[0].id], Permission.VIEW_CHANNELS)
    assert has(many[channels[1].id], Permission.MANAGE_MESSAGES)
    assert not has(many[channels[1].id], Permission.SEND_MESSAGES)
    assert not has(many[channels[2].id], Permission.ADD_REACTIONS)
    assert many[channels[3].id] == server_perms.bits
    carol = uuid.UUID(api.users["carol"].id)
    outsider = permissions_in_server(carol, Server.objects.get(id=sid))
    assert (outsider.is_member, outsider.bits) == (False, 0)
    assert permissions_in_channels(carol, channels, outsider) == {c.id: 0 for c in channels}
