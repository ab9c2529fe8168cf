"""Fetch an object *and* check that the user may act on it, for REST views, the WebSocket gateway
and event fan-out alike (DESIGN.md 2). Permission rules live in ``chat.permissions``.

Membership is always required (a non-member never acts with @everyone's permissions), and
private channels are invisible to members without VIEW_CHANNELS there.

The rows every request reads (the channel with its server, the caller's membership, roles and the
channel's overwrites) are kept per process while nothing behind them changes anywhere
(``haven_site.epochs``, epoch "access"): a kick, ban, role or overwrite change is seen by the next
request on every process.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from chat.models import (
    Channel,
    ChannelMember,
    DmStatus,
    Friendship,
    FriendshipStatus,
    Server,
    ServerMember,
)
from chat.permissions import (
    ALL,
    Permission,
    ServerPermissions,
    has,
    members_with_channel_permission,
    permissions_in_channel,
    permissions_in_channels,
    server_channels_with_permission,
)
from chat.permissions import permissions_in_server as _permissions_in_server
from haven_site.api.errors import Forbidden, NotFound
from haven_site.epochs import EpochCache

NOT_SERVER_MEMBER = "Not a member of this server"
NOT_CHANNEL_MEMBER = "Not a member of this channel"
MISSING_PERMISSION = "Missing required permission"
SERVER_NOT_FOUND = "Server not found"
CHANNEL_NOT_FOUND = "Channel not found"
TIMED_OUT = "You are timed out in this server"


@dataclass(frozen=True)
class ServerAccess:
    server: Server
    perms: ServerPermissions


@dataclass(frozen=True)
class ChannelAccess:
    channel: Channel
    bits: int  # the user's permissions in this channel (ALL for DM and group participants)
    server: ServerPermissions | None  # None for DM and group channels

    def has(self, needed: int) -> bool:
        return has(self.bits, needed)


def _copy_channel(channel: Channel | None) -> Channel | None:
    """Each caller gets its own Channel (and Server): actions may change and save them."""
    if channel is None:
        return None
    mine = copy.copy(channel)
    if channel.server is not None:
        mine.server = copy.copy(channel.server)
    return mine


_channels = EpochCache("access", copy=_copy_channel)
_timeouts = EpochCache("access")


def channel_with_server(channel_id: uuid.UUID) -> Channel | None:
    """The channel and its server (one query, or none while nothing changed)."""

    def load() -> Channel | None:
        return Channel.objects.select_related("server").filter(id=channel_id).first()

    return _channels.get(channel_id, load)


def server_permissions(user_id: uuid.UUID, server: Server) -> ServerPermissions:
    return _permissions_in_server(user_id, server)


def access_server(
    user_id: uuid.UUID,
    server_id: uuid.UUID,
    *,
    need: int | None = None,
    missing_server: str | None = None,
    missing_permission: str = MISSING_PERMISSION,
) -> ServerAccess:
    """The server, if the user is a member holding ``need``.

    A missing server answers ``404 missing_server`` when given (PERM-guarded routes), else the
    same 403 as for non-members (MEMBER-guarded routes, which do not reveal what exists).
    """
    server = Server.objects.filter(id=server_id).first()
    if server is None:
        if missing_server is not None:
            raise NotFound(missing_server)
        raise Forbidden(NOT_SERVER_MEMBER)
    perms = server_permissions(user_id, server)
    if not perms.is_member:
        raise Forbidden(NOT_SERVER_MEMBER)
    if need is not None and not perms.has(need):
        raise Forbidden(missing_permission)
    return ServerAccess(server, perms)


def channel_access(user_id: uuid.UUID, channel: Channel) -> ChannelAccess | None:
    """The user's access to a channel, or None when the user may not see it at all.

    DM/group: a participant (channel member row). Server channel: a server member who holds
    VIEW_CHANNELS in that channel (private channels hide themselves through overwrites)."""
    if channel.server_id is None:
        if ChannelMember.objects.filter(channel=channel, user_id=user_id).exists():
            return ChannelAccess(channel, ALL, None)
        return None
    server = channel.server
    assert server is not None
    perms = server_permissions(user_id, server)
    if not perms.is_member:
        return None
    bits = permissions_in_channel(user_id, channel, perms)
    if not has(bits, Permission.VIEW_CHANNELS):
        return None
    return ChannelAccess(channel, bits, perms)


def access_channel(
    user_id: uuid.UUID,
    channel_id: uuid.UUID,
    *,
    need: int | None = None,
    missing_channel: str | None = None,
    missing_permission: str = MISSING_PERMISSION,
) -> ChannelAccess:
    """The channel, if the user can see it (and holds ``need`` there).

    A missing channel answers ``404 missing_channel`` when given, else ``403 Not a member of this
    channel`` exactly like a channel the user cannot see (ACCESS in api.md 1.10)."""
    channel = channel_with_server(channel_id)
    if channel is None:
        if missing_channel is not None:
            raise NotFound(missing_channel)
        raise Forbidden(NOT_CHANNEL_MEMBER)
    access = channel_access(user_id, channel)
    if access is None:
        raise Forbidden(NOT_CHANNEL_MEMBER)
    if need is not None and not access.has(need):
        raise Forbidden(missing_permission)
    return access


def can_view(bits: int) -> bool:
    return has(bits, Permission.VIEW_CHANNELS)


def visible_channels(user_id: uuid.UUID, access: ServerAccess) -> list[tuple[Channel, int]]:
    """The server's channels the user can see (VIEW_CHANNELS after overwrites), by position,
    each with the user's permissions there: two queries whatever the number of channels."""
    channels = list(
        Channel.objects.filter(server=access.server).order_by("position", "created_at", "id")
    )
    bits = permissions_in_channels(user_id, channels, access.perms)
    return [(c, bits[c.id]) for c in channels if can_view(bits[c.id])]


def access_server_channel(
    user_id: uuid.UUID,
    channel_id: uuid.UUID,
    *,
    direct_message: str,
    need: int | None = None,
    not_member: str = NOT_SERVER_MEMBER,
    missing_permission: str = MISSING_PERMISSION,
) -> ChannelAccess:
    """A server channel for routes that manage it (rename, delete, category, overwrites...).

    Missing -> ``404 Channel not found``; DM/group -> ``403 direct_message``; not a member of
    its server -> ``403 not_member``; a channel the member cannot see answers exactly like a
    missing one; ``need`` is then checked on the *server* permissions (PERM, api.md 1.10)."""
    channel = channel_with_server(channel_id)
    if channel is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    if channel.server is None:
        raise Forbidden(direct_message)
    perms = server_permissions(user_id, channel.server)
    if not perms.is_member:
        raise Forbidden(not_member)
    bits = permissions_in_channel(user_id, channel, perms)
    if not can_view(bits):
        raise NotFound(CHANNEL_NOT_FOUND)
    if need is not None and not perms.has(need):
        raise Forbidden(missing_permission)
    return ChannelAccess(channel, bits, perms)


def is_timed_out(user_id: uuid.UUID, server_id: uuid.UUID | None) -> bool:
    """True while the member's timeout (api.md 2.17) lies in the future."""
    if server_id is None:
        return False

    def load() -> datetime | None:
        return (
            ServerMember.objects.filter(server_id=server_id, user_id=user_id)
            .values_list("timed_out_until", flat=True)
            .first()
        )

    until = _timeouts.get((server_id, user_id), load)
    return until is not None and until > timezone.now()


def check_not_timed_out(user_id: uuid.UUID, server_id: uuid.UUID | None) -> None:
    """For sending messages and adding reactions in a server's channels: ``403 You are timed out
    in this server`` while a timeout runs. DM and group channels (``server_id`` None) pass."""
    if is_timed_out(user_id, server_id):
        raise Forbidden(TIMED_OUT)


def timed_out_ids(server_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_ids`` are timed out in the server right now (one query)."""
    return set(
        ServerMember.objects.filter(
            server_id=server_id, user_id__in=list(user_ids), timed_out_until__gt=timezone.now()
        ).values_list("user_id", flat=True)
    )


def may_stay_in_voice(channel: Channel, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_ids`` may still be in the channel's voice: they can see it
    (``channel_reader_ids``) and, in a server, are not timed out there. A fixed number of
    queries (voice re-checks its participants with this when access changed)."""
    wanted = set(user_ids) & channel_reader_ids(channel)
    if channel.server_id is None or not wanted:
        return wanted
    return wanted - timed_out_ids(channel.server_id, wanted)


def channel_reader_ids(channel: Channel) -> set[uuid.UUID]:
    """Everyone who can see ``channel`` (the same rule as ``channel_access``), in a fixed number
    of queries: the participants of a DM or group, else the server members with VIEW_CHANNELS."""
    if channel.server_id is None:
        return set(ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True))
    return members_with_channel_permission(channel, Permission.VIEW_CHANNELS)


def visible_channel_ids(user_id: uuid.UUID) -> set[uuid.UUID]:
    """Every channel the user can see: their DMs and groups, and the channels of their servers
    in which they hold VIEW_CHANNELS. A fixed number of queries."""
    direct = set(
        ChannelMember.objects.filter(user_id=user_id, channel__server__isnull=True).values_list(
            "channel_id", flat=True
        )
    )
    return direct | server_channels_with_permission(user_id, Permission.VIEW_CHANNELS)


def can_see_channel(user_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    """Whether the channel exists and the user can see it (``channel_access``), for the gateway's
    silent drops (``Typing``). A fixed number of queries, for this one channel only."""
    channel = channel_with_server(channel_id)
    return channel is not None and channel_access(user_id, channel) is not None


def subscribable_channel(user_id: uuid.UUID, channel_id: uuid.UUID) -> uuid.UUID | None:
    """WebSocket ``Subscribe``: the channel's server (None for DM/group) if the user can see the
    channel, under the same rules as REST; else ``Not a member of this channel``."""
    return access_channel(user_id, channel_id).channel.server_id


def still_visible(user_id: uuid.UUID, channel_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The channels among ``channel_ids`` that the user can still see (gateway re-checks after
    access changed; deleted channels are simply absent). A fixed number of queries."""
    return set(channel_ids) & visible_channel_ids(user_id)


def still_visible_by_server(
    user_id: uuid.UUID, channel_ids: list[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID | None]:
    """``still_visible`` with each channel's server (None for DM and group channels), for a
    gateway ``Resume`` that re-checks a saved session's channels and their servers' groups."""
    visible = still_visible(user_id, channel_ids)
    if not visible:
        return {}
    return dict(Channel.objects.filter(id__in=visible).values_list("id", "server_id"))


def users_sharing_something(viewer_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``user_ids`` the viewer may see at all (presence, profile cards): themselves, and
    whoever shares a server, a DM or group channel, or a friendship with them. A request only
    reveals its sender to its receiver: a pending or declined DM counts for its target, not its
    initiator, and a pending friend request for its addressee; otherwise anyone could see anyone
    by sending a request. At most three queries whatever the number of ids."""
    wanted = set(user_ids)
    seen = wanted & {viewer_id}
    rest = wanted - seen
    if rest:
        my_servers = ServerMember.objects.filter(user_id=viewer_id).values("server_id")
        seen |= set(
            ServerMember.objects.filter(server_id__in=my_servers, user_id__in=rest).values_list(
                "user_id", flat=True
            )
        )
        rest -= seen
    if rest:
        my_channels = (
            ChannelMember.objects.filter(user_id=viewer_id, channel__server__isnull=True)
            .exclude(
                channel__dm_initiator_id=viewer_id,
                channel__dm_status__in=[DmStatus.PENDING, DmStatus.DECLINED],
            )
            .values("channel_id")
        )
        seen |= set(
            ChannelMember.objects.filter(channel_id__in=my_channels, user_id__in=rest).values_list(
                "user_id", flat=True
            )
        )
        rest -= seen
    if rest:
        friendships = Friendship.objects.filter(
            Q(requester_id=viewer_id, addressee_id__in=rest, status=FriendshipStatus.ACCEPTED)
            | Q(addressee_id=viewer_id, requester_id__in=rest)
        ).values_list("requester_id", "addressee_id")
        seen |= {a if a != viewer_id else b for a, b in friendships}
    return seen
