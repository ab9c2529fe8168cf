"""The permission model of api.md section 3, computed here and nowhere else.

Pure functions (``server_bits``, ``channel_bits``) hold the rules and are property-tested; the
loaders (``permissions_in_server``, ``permissions_in_channel``) fetch what those rules need in a
fixed number of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntFlag
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chat.models import Channel, Server


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


def permissions_in_server(user_id: uuid.UUID, server: Server) -> ServerPermissions:
    """Two queries: the membership, and the @everyone role plus the user's assigned roles."""
    from django.db.models import Exists, OuterRef, Q

    from chat.models import MemberRole, Role, ServerMember

    is_owner = server.owner_id == user_id
    is_member = is_owner or ServerMember.objects.filter(server=server, user_id=user_id).exists()
    roles = (
        Role.objects.filter(server=server)
        .annotate(assigned=Exists(MemberRole.objects.filter(role=OuterRef("pk"), user_id=user_id)))
        .filter(Q(is_default=True) | Q(assigned=True))
        .values_list("id", "permissions", "position", "is_default", "assigned")
    )
    everyone_bits: int | None = None
    default_role_id = None
    role_bits: list[int] = []
    assigned: set[uuid.UUID] = set()
    top = 0
    for role_id, permissions, position, is_default, is_assigned in roles:
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


def permissions_in_channel(user_id: uuid.UUID, channel: Channel, server: ServerPermissions) -> int:
    """Channel permissions for a server channel, from the server permissions and overwrites."""
    from chat.models import PermissionOverwrite

    if not server.is_member:
        return 0
    if server.bits == ALL or server.bits & Permission.ADMINISTRATOR:
        return ALL
    rows = PermissionOverwrite.objects.filter(channel=channel).values_list(
        "target_type", "target_id", "allow_bits", "deny_bits"
    )
    return _apply_overwrites(user_id, server, list(rows))


OverwriteRow = tuple[str, uuid.UUID, int, int]  # target_type, target_id, allow, deny


def _apply_overwrites(
    user_id: uuid.UUID, server: ServerPermissions, rows: Iterable[OverwriteRow]
) -> int:
    """Pick the overwrites that concern this user out of a channel's rows, and apply them."""
    from chat.models import TargetType

    if not server.is_member:
        return 0
    everyone = member = None
    roles: list[Overwrite] = []
    for target_type, target_id, allow, deny in rows:
        overwrite = Overwrite(allow, deny)
        if target_type == TargetType.MEMBER:
            if target_id == user_id:
                member = overwrite
        elif target_id == server.default_role_id:
            everyone = overwrite
        elif target_id in server.role_ids:
            roles.append(overwrite)
    return channel_bits(server.bits, everyone=everyone, roles=roles, member=member)


# --- Bulk loaders: many users or many channels in a fixed number of queries ----------------------


def _assemble(
    user_id: uuid.UUID,
    *,
    owner_id: uuid.UUID,
    is_member: bool,
    default_role: tuple[uuid.UUID, int] | None,
    assigned: Iterable[tuple[uuid.UUID, int, int]],  # role id, permissions, position
) -> ServerPermissions:
    """ServerPermissions from pre-loaded rows, by the same rules as ``permissions_in_server``."""
    is_owner = owner_id == user_id
    assigned = list(assigned)
    bits = server_bits(
        is_owner=is_owner,
        everyone=default_role[1] if default_role is not None else None,
        roles=[permissions for _, permissions, _ in assigned],
    )
    member = is_owner or is_member
    return ServerPermissions(
        bits=bits if member else 0,
        is_owner=is_owner,
        is_member=member,
        role_ids=frozenset(role_id for role_id, _, _ in assigned),
        default_role_id=default_role[0] if default_role is not None else None,
        top_position=max((position for _, _, position in assigned), default=0),
    )


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
    default_role: tuple[uuid.UUID, int] | None = None
    role_info: dict[uuid.UUID, tuple[int, int]] = {}
    for role_id, permissions, position, is_default in Role.objects.filter(
        server_id=channel.server_id
    ).values_list("id", "permissions", "position", "is_default"):
        role_info[role_id] = (permissions, position)
        if is_default:
            default_role = (role_id, permissions)
    assigned: dict[uuid.UUID, list[tuple[uuid.UUID, int, int]]] = {}
    for user_id, role_id in MemberRole.objects.filter(
        role__server_id=channel.server_id, user_id__in=member_ids
    ).values_list("user_id", "role_id"):
        permissions, position = role_info[role_id]
        assigned.setdefault(user_id, []).append((role_id, permissions, position))
    rows = list(
        PermissionOverwrite.objects.filter(channel=channel).values_list(
            "target_type", "target_id", "allow_bits", "deny_bits"
        )
    )
    holders: set[uuid.UUID] = set()
    for user_id in member_ids:
        perms = _assemble(
            user_id,
            owner_id=owner_id,
            is_member=True,
            default_role=default_role,
            assigned=assigned.get(user_id, ()),
        )
        bits = ALL if perms.bits == ALL else _apply_overwrites(user_id, perms, rows)
        if has(bits, needed):
            holders.add(user_id)
    return holders


def server_channels_with_permission(user_id: uuid.UUID, needed: int) -> set[uuid.UUID]:
    """Every channel of every server the user belongs to in which the user holds ``needed``.

    Four queries whatever the number of servers and channels (memberships, roles, channels,
    overwrites)."""
    from django.db.models import Exists, OuterRef, Q

    from chat.models import Channel, MemberRole, PermissionOverwrite, Role, Server

    servers = dict(
        Server.objects.filter(Q(owner_id=user_id) | Q(members__user_id=user_id))
        .distinct()
        .values_list("id", "owner_id")
    )
    if not servers:
        return set()
    defaults: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
    assigned: dict[uuid.UUID, list[tuple[uuid.UUID, int, int]]] = {}
    roles = (
        Role.objects.filter(server_id__in=servers)
        .annotate(mine=Exists(MemberRole.objects.filter(role=OuterRef("pk"), user_id=user_id)))
        .filter(Q(is_default=True) | Q(mine=True))
        .values_list("server_id", "id", "permissions", "position", "is_default", "mine")
    )
    for server_id, role_id, permissions, position, is_default, mine in roles:
        if is_default:
            defaults[server_id] = (role_id, permissions)
        if mine:
            assigned.setdefault(server_id, []).append((role_id, permissions, position))
    perms = {
        server_id: _assemble(
            user_id,
            owner_id=owner_id,
            is_member=True,
            default_role=defaults.get(server_id),
            assigned=assigned.get(server_id, ()),
        )
        for server_id, owner_id in servers.items()
    }
    channels = list(Channel.objects.filter(server_id__in=servers).values_list("id", "server_id"))
    rows: dict[uuid.UUID, list[OverwriteRow]] = {}
    for channel_id, *row in PermissionOverwrite.objects.filter(
        channel__server_id__in=servers
    ).values_list("channel_id", "target_type", "target_id", "allow_bits", "deny_bits"):
        rows.setdefault(channel_id, []).append(tuple(row))  # type: ignore[arg-type]
    visible: set[uuid.UUID] = set()
    for channel_id, server_id in channels:
        server = perms[server_id]
        if server.bits == ALL:
            bits = ALL
        else:
            bits = _apply_overwrites(user_id, server, rows.get(channel_id, ()))
        if has(bits, needed):
            visible.add(channel_id)
    return visible
