"""The permission model of api.md section 3, computed here and nowhere else.

Pure functions (``server_bits``, ``channel_bits``) hold the rules and are property-tested; the
loaders (``permissions_in_server``, ``permissions_in_channel``) fetch what those rules need in a
fixed number of queries, and keep it per process while nothing behind it changes anywhere
(``haven_site.epochs``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntFlag
from typing import TYPE_CHECKING, Any

from haven_site.epochs import EpochCache

if TYPE_CHECKING:
    from chat.models import Channel, Server

# Per-process caches of the two loaders every request uses (haven_site.epochs, epoch "access").
_server_cache = EpochCache("access")
_overwrite_cache = EpochCache("access")


class Permission(IntFlag):
    ADMINISTRATOR = 1 << 0
    MANAGE_SERVER = 1 << 1
    MANAGE_ROLES = 1 << 2
    MANAGE_CHANNELS = 1 << 3
    KICK_MEMBERS = 1 << 4
    BAN_MEMBERS = 1 << 5
    MANAGE_MESSAGES = 1 << 6
    VIEW_CHANNELS = 1 << 7
    SEND_MESSAGES = 1 << 8
    CREATE_INVITES = 1 << 9
    MANAGE_INVITES = 1 << 10
    ADD_REACTIONS = 1 << 11
    MENTION_EVERYONE = 1 << 12
    ATTACH_FILES = 1 << 13
    READ_MESSAGE_HISTORY = 1 << 14
    MANAGE_EMOJIS = 1 << 15
    MUTE_MEMBERS = 1 << 16
    STREAM = 1 << 17
    PRIORITY_SPEAKER = 1 << 18
    USE_VOICE_ACTIVITY = 1 << 19
    USE_EXTERNAL_EMOJIS = 1 << 20
    MANAGE_WEBHOOKS = 1 << 21
    VIEW_AUDIT_LOG = 1 << 22
    MANAGE_EVENTS = 1 << 23
    MANAGE_THREADS = 1 << 24
    MODERATE_MEMBERS = 1 << 25
    MANAGE_NICKNAMES = 1 << 26


KNOWN_BITS = sum(int(p) for p in Permission)  # bits 0-26; 27-62 are unused but may be stored
ALL = (1 << 63) - 1  # every bit 0-62: "9223372036854775807" on the wire
DEFAULT_EVERYONE = int(
    Permission.VIEW_CHANNELS
    | Permission.SEND_MESSAGES
    | Permission.CREATE_INVITES
    | Permission.ADD_REACTIONS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.STREAM
    | Permission.USE_VOICE_ACTIVITY
    | Permission.USE_EXTERNAL_EMOJIS
)  # 1731456


def has(bits: int, needed: int) -> bool:
    """ADMINISTRATOR grants everything; otherwise every bit of ``needed`` must be held."""
    return bool(bits & Permission.ADMINISTRATOR) or bits & needed == needed


def server_bits(*, is_owner: bool, everyone: int | None, roles: Iterable[int]) -> int:
    """Effective server permissions (3.3): owner, else @everyone OR assigned roles; admin: all."""
    if is_owner:
        return ALL
    bits = DEFAULT_EVERYONE if everyone is None else everyone
    for role in roles:
        bits |= role
    return ALL if bits & Permission.ADMINISTRATOR else bits


@dataclass(frozen=True)
class Overwrite:
    allow: int
    deny: int


def channel_bits(
    base: int,
    *,
    everyone: Overwrite | None,
    roles: Iterable[Overwrite],
    member: Overwrite | None,
) -> int:
    """Channel permissions (3.4): @everyone overwrite, then the union of role overwrites (allows
    beat denies between roles), then the member's own overwrite. Owners and admins skip it."""
    if base == ALL or base & Permission.ADMINISTRATOR:
        return ALL
    bits = base
    if everyone is not None:
        bits = (bits & ~everyone.deny) | everyone.allow
    allow = deny = 0
    for overwrite in roles:
        allow |= overwrite.allow
        deny |= overwrite.deny
    bits = (bits & ~deny) | allow
    if member is not None:
        bits = (bits & ~member.deny) | member.allow
    return bits & ALL


@dataclass(frozen=True)
class ServerPermissions:
    """What one user may do in one server."""

    bits: int
    is_owner: bool
    is_member: bool
    role_ids: frozenset[uuid.UUID]
    default_role_id: uuid.UUID | None
    top_position: int  # highest position among the user's assigned roles, 0 without any

    def has(self, needed: int) -> bool:
        return has(self.bits, needed)


def _server_permissions_from_rows(
    *, is_owner: bool, is_member: bool, rows: Iterable[tuple[uuid.UUID, int, int, bool, bool]]
) -> ServerPermissions:
    """Fold the @everyone row and the assigned-role rows of one user into ServerPermissions."""
    everyone_bits: int | None = None
    default_role_id = None
    role_bits: list[int] = []
    assigned: set[uuid.UUID] = set()
    top = 0
    for role_id, permissions, position, is_default, is_assigned in rows:
        if is_default:
            everyone_bits, default_role_id = permissions, role_id
        if is_assigned:
            assigned.add(role_id)
            role_bits.append(permissions)
            top = max(top, position)
    bits = server_bits(is_owner=is_owner, everyone=everyone_bits, roles=role_bits)
    return ServerPermissions(
        bits=bits if is_member else 0,
        is_owner=is_owner,
        is_member=is_member,
        role_ids=frozenset(assigned),
        default_role_id=default_role_id,
        top_position=top,
    )


def _role_rows(user_id: uuid.UUID, server_ids: Iterable[uuid.UUID]) -> Any:
    """(server_id, role_id, permissions, position, is_default, assigned) for the @everyone roles
    of ``server_ids`` and the roles assigned to ``user_id`` there, in one query."""
    from django.db.models import Exists, OuterRef, Q

    from chat.models import MemberRole, Role

    return (
        Role.objects.filter(server_id__in=list(server_ids))
        .annotate(assigned=Exists(MemberRole.objects.filter(role=OuterRef("pk"), user_id=user_id)))
        .filter(Q(is_default=True) | Q(assigned=True))
        .values_list("server_id", "id", "permissions", "position", "is_default", "assigned")
    )


def permissions_in_server(user_id: uuid.UUID, server: Server) -> ServerPermissions:
    """Two queries (the membership, and the @everyone role plus the user's assigned roles), or
    none while nothing behind them changed (``haven_site.epochs``)."""
    from chat.models import ServerMember

    def load() -> ServerPermissions:
        is_owner = server.owner_id == user_id
        is_member = is_owner or ServerMember.objects.filter(server=server, user_id=user_id).exists()
        rows = [row[1:] for row in _role_rows(user_id, [server.id])]
        return _server_permissions_from_rows(is_owner=is_owner, is_member=is_member, rows=rows)

    return _server_cache.get((user_id, server.id, server.owner_id), load)


def permissions_in_servers(
    user_id: uuid.UUID, servers: Iterable[Server]
) -> dict[uuid.UUID, ServerPermissions]:
    """ServerPermissions for many servers in two queries, whatever their number (server lists)."""
    from chat.models import ServerMember

    servers = list(servers)
    if not servers:
        return {}
    ids = [s.id for s in servers]
    member_of = set(
        ServerMember.objects.filter(server_id__in=ids, user_id=user_id).values_list(
            "server_id", flat=True
        )
    )
    rows: dict[uuid.UUID, list[tuple[uuid.UUID, int, int, bool, bool]]] = {i: [] for i in ids}
    for server_id, *rest in _role_rows(user_id, ids):
        rows[server_id].append(tuple(rest))
    result = {}
    for server in servers:
        is_owner = server.owner_id == user_id
        result[server.id] = _server_permissions_from_rows(
            is_owner=is_owner, is_member=is_owner or server.id in member_of, rows=rows[server.id]
        )
    return result


def _channel_bits_from_rows(
    user_id: uuid.UUID, server: ServerPermissions, rows: Iterable[tuple[str, uuid.UUID, int, int]]
) -> int:
    """Apply the overwrite rows (target_type, target_id, allow, deny) of one channel (3.4)."""
    from chat.models import TargetType

    everyone = member = None
    roles: list[Overwrite] = []
    for target_type, target_id, allow_bits, deny_bits in rows:
        overwrite = Overwrite(allow_bits, deny_bits)
        if target_type == TargetType.MEMBER:
            if target_id == user_id:
                member = overwrite
        elif target_id == server.default_role_id:
            everyone = overwrite
        elif target_id in server.role_ids:
            roles.append(overwrite)
    return channel_bits(server.bits, everyone=everyone, roles=roles, member=member)


def permissions_in_channel(user_id: uuid.UUID, channel: Channel, server: ServerPermissions) -> int:
    """Channel permissions for a server channel, from the server permissions and overwrites."""
    from chat.models import PermissionOverwrite

    if _skips_overwrites(server):
        return _bits_in_channel(user_id, server, ())  # no query: nothing to apply

    def load() -> tuple[tuple[str, uuid.UUID, int, int], ...]:
        return tuple(
            PermissionOverwrite.objects.filter(channel=channel).values_list(
                "target_type", "target_id", "allow_bits", "deny_bits"
            )
        )

    return _bits_in_channel(user_id, server, _overwrite_cache.get(channel.id, load))


def permissions_in_channels(
    user_id: uuid.UUID, channels: Iterable[Channel], server: ServerPermissions
) -> dict[uuid.UUID, int]:
    """Channel permissions for many channels of one server in at most one query."""
    from chat.models import PermissionOverwrite

    channels = list(channels)
    rows: dict[uuid.UUID, list[tuple[str, uuid.UUID, int, int]]] = {c.id: [] for c in channels}
    if channels and not _skips_overwrites(server):
        for channel_id, *rest in PermissionOverwrite.objects.filter(
            channel_id__in=list(rows)
        ).values_list("channel_id", "target_type", "target_id", "allow_bits", "deny_bits"):
            rows[channel_id].append(tuple(rest))  # type: ignore[arg-type]
    return {c.id: _bits_in_channel(user_id, server, rows[c.id]) for c in channels}


# --- Role hierarchy (3.5) and what an actor may hand out -----------------------------------------


def outranks_position(actor: ServerPermissions, position: int) -> bool:
    """HIER (api.md 2.11): the owner always; anyone else only strictly below their top role."""
    return actor.is_owner or position < actor.top_position


def top_positions(server_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Highest assigned role position per user in one server (0 without assigned roles)."""
    from django.db.models import Max

    from chat.models import MemberRole

    ids = list(user_ids)
    found = dict(
        MemberRole.objects.filter(server_id=server_id, user_id__in=ids)
        .values("user_id")
        .annotate(top=Max("role__position"))
        .values_list("user_id", "top")
    )
    return {u: max(found.get(u) or 0, 0) for u in ids}


def ungrantable_bits(actor: ServerPermissions, requested: int) -> int:
    """The known permission bits in ``requested`` that ``actor`` does not hold themself.

    Without this check a MANAGE_ROLES holder could create an ADMINISTRATOR role below their own
    and assign it to themself. Owners and administrators hold every bit."""
    if actor.bits == ALL or actor.bits & Permission.ADMINISTRATOR:
        return 0
    return requested & KNOWN_BITS & ~actor.bits


# --- Bulk loaders: many users or many channels in a fixed number of queries ----------------------


def members_with_channel_permission(channel: Channel, needed: int) -> set[uuid.UUID]:
    """Every member of a server channel's server who holds ``needed`` in that channel.

    Four queries whatever the number of members (server, members, roles with their assignments,
    overwrites); the rules are those of ``permissions_in_server`` and ``permissions_in_channel``.
    """
    from chat.models import MemberRole, PermissionOverwrite, Role, Server, ServerMember

    assert channel.server_id is not None
    owner_id = Server.objects.values_list("owner_id", flat=True).get(id=channel.server_id)
    member_ids = set(
        ServerMember.objects.filter(server_id=channel.server_id).values_list("user_id", flat=True)
    )
    member_ids.add(owner_id)
    roles = {
        role_id: (permissions, position, is_default)
        for role_id, permissions, position, is_default in Role.objects.filter(
            server_id=channel.server_id
        ).values_list("id", "permissions", "position", "is_default")
    }
    assigned: dict[uuid.UUID, set[uuid.UUID]] = {}
    for user_id, role_id in MemberRole.objects.filter(
        server_id=channel.server_id, user_id__in=member_ids
    ).values_list("user_id", "role_id"):
        assigned.setdefault(user_id, set()).add(role_id)
    overwrites = list(
        PermissionOverwrite.objects.filter(channel=channel).values_list(
            "target_type", "target_id", "allow_bits", "deny_bits"
        )
    )
    holders: set[uuid.UUID] = set()
    for user_id in member_ids:
        mine = assigned.get(user_id, set())
        rows = [
            (role_id, permissions, position, is_default, role_id in mine)
            for role_id, (permissions, position, is_default) in roles.items()
            if is_default or role_id in mine
        ]
        perms = _server_permissions_from_rows(
            is_owner=user_id == owner_id, is_member=True, rows=rows
        )
        if has(_bits_in_channel(user_id, perms, overwrites), needed):
            holders.add(user_id)
    return holders


def server_channels_with_permission(user_id: uuid.UUID, needed: int) -> set[uuid.UUID]:
    """Every channel of every server the user belongs to in which the user holds ``needed``.

    Four queries whatever the number of servers and channels (memberships, roles, channels,
    overwrites)."""
    from django.db.models import Q

    from chat.models import Channel, PermissionOverwrite, Server

    servers = dict(
        Server.objects.filter(Q(owner_id=user_id) | Q(members__user_id=user_id))
        .distinct()
        .values_list("id", "owner_id")
    )
    if not servers:
        return set()
    role_rows: dict[uuid.UUID, list[tuple[uuid.UUID, int, int, bool, bool]]] = {}
    for server_id, *rest in _role_rows(user_id, servers):
        role_rows.setdefault(server_id, []).append(tuple(rest))
    perms = {
        server_id: _server_permissions_from_rows(
            is_owner=owner_id == user_id, is_member=True, rows=role_rows.get(server_id, ())
        )
        for server_id, owner_id in servers.items()
    }
    overwrites: dict[uuid.UUID, list[tuple[str, uuid.UUID, int, int]]] = {}
    for channel_id, *row in PermissionOverwrite.objects.filter(
        channel__server_id__in=servers
    ).values_list("channel_id", "target_type", "target_id", "allow_bits", "deny_bits"):
        overwrites.setdefault(channel_id, []).append(tuple(row))  # type: ignore[arg-type]
    visible: set[uuid.UUID] = set()
    for channel_id, server_id in Channel.objects.filter(server_id__in=servers).values_list(
        "id", "server_id"
    ):
        bits = _bits_in_channel(user_id, perms[server_id], overwrites.get(channel_id, ()))
        if has(bits, needed):
            visible.add(channel_id)
    return visible


def _skips_overwrites(server: ServerPermissions) -> bool:
    """Non-members hold nothing anywhere; owners and administrators hold everything: neither
    needs the channel's overwrites."""
    return (
        not server.is_member or server.bits == ALL or bool(server.bits & Permission.ADMINISTRATOR)
    )


def _bits_in_channel(
    user_id: uuid.UUID,
    server: ServerPermissions,
    rows: Iterable[tuple[str, uuid.UUID, int, int]],
) -> int:
    """Channel permissions (3.4) from the server permissions and the channel's overwrite rows
    (target_type, target_id, allow, deny): every loader above ends here."""
    if not server.is_member:
        return 0
    if server.bits == ALL or server.bits & Permission.ADMINISTRATOR:
        return ALL
    return _channel_bits_from_rows(user_id, server, rows)
