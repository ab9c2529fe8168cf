"""Events and gateway commands of the server domain (websocket.md 4.3 plus the events this port
adds, docs/realtime.md "Events added by this port"). Call them inside the action's transaction:
``realtime.events`` sends them once it commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from chat.hooks import announce_access_change
from chat.models import ServerMember
from haven_site.api.encoding import ts
from realtime.events import Audience, control, publish, to_channels, to_servers, to_users


def notify_server_updated(server_id: uuid.UUID) -> None:
    """``ServerUpdated``: clients reload the server's channels, categories, roles and settings."""
    publish("ServerUpdated", {"server_id": str(server_id)}, to_servers(server_id))


def notify_server_deleted(server_id: uuid.UUID, member_ids: Iterable[uuid.UUID]) -> None:
    member_ids = list(member_ids)
    members = to_users(member_ids)
    publish("ServerDeleted", {"server_id": str(server_id)}, to_servers(server_id) | members)
    recheck(to_servers(server_id) | members, server_id, user_ids=member_ids)


def notify_member_joined(server_id: uuid.UUID, user_id: uuid.UUID) -> None:
    payload = {"server_id": str(server_id), "user_id": str(user_id)}
    publish("MemberJoined", payload, to_servers(server_id) | to_users(user_id))


def notify_member_removed(server_id: uuid.UUID, user_id: uuid.UUID, *, banned: bool) -> None:
    """``MemberRemoved`` (leave, kick) or ``MemberBanned``, to the server's subscribers and to the
    user's own connections; then those connections drop what they can no longer access."""
    payload = {"server_id": str(server_id), "user_id": str(user_id)}
    event = "MemberBanned" if banned else "MemberRemoved"
    publish(event, payload, to_servers(server_id) | to_users(user_id))
    recheck(to_users(user_id), server_id, user_ids=[user_id])


def notify_member_unbanned(server_id: uuid.UUID, user_id: uuid.UUID) -> None:
    payload = {"server_id": str(server_id), "user_id": str(user_id)}
    publish("MemberUnbanned", payload, to_servers(server_id))


def notify_nickname(server_id: uuid.UUID, user_id: uuid.UUID, nickname: str | None) -> None:
    payload = {"server_id": str(server_id), "user_id": str(user_id), "nickname": nickname}
    publish("MemberNicknameUpdated", payload, to_servers(server_id) | to_users(user_id))


def notify_member_roles(
    server_id: uuid.UUID, user_id: uuid.UUID, role_ids: Iterable[uuid.UUID]
) -> None:
    payload = {
        "server_id": str(server_id),
        "user_id": str(user_id),
        "role_ids": [str(r) for r in role_ids],
    }
    publish("MemberRolesUpdated", payload, to_servers(server_id) | to_users(user_id))
    recheck(to_users(user_id), server_id, user_ids=[user_id])


def notify_timed_out(
    server_id: uuid.UUID,
    user_id: uuid.UUID,
    until: datetime | None,
    member_ids: Iterable[uuid.UUID],
) -> None:
    """``MemberTimedOut`` to every connection of every member (websocket.md 4.0 #27); a timeout
    also ends the member's voice in that server (the ``access_changed`` hooks)."""
    payload = {"server_id": str(server_id), "user_id": str(user_id), "timed_out_until": ts(until)}
    publish("MemberTimedOut", payload, to_users(list(member_ids)))
    announce_access_change(server_id, user_ids=[user_id])


def notify_permissions_changed(server_id: uuid.UUID) -> None:
    """Roles or overwrites changed: clients reload, and every connection of the server re-checks
    its subscriptions there. ``ServerUpdated`` goes to every member's connections too: a member
    who could see none of the server's channels (so subscribed to none) may see one now."""
    members = ServerMember.objects.filter(server_id=server_id).values_list("user_id", flat=True)
    payload = {"server_id": str(server_id)}
    publish("ServerUpdated", payload, to_servers(server_id) | to_users(list(members)))
    recheck(to_servers(server_id), server_id)


def notify_channel_deleted(server_id: uuid.UUID, channel_id: uuid.UUID) -> None:
    notify_server_updated(server_id)
    recheck(to_servers(server_id) | to_channels(channel_id), server_id, channel_id=channel_id)


def recheck(
    audience: Audience,
    server_id: uuid.UUID,
    *,
    channel_id: uuid.UUID | None = None,
    user_ids: Iterable[uuid.UUID] | None = None,
) -> None:
    """The gateway command ``recheck``: drop subscriptions the user can no longer access; and
    the ``access_changed`` hooks (voice) for ``user_ids`` (None: anyone in the server)."""
    data = {"server_id": str(server_id)}
    if channel_id is not None:
        data["channel_id"] = str(channel_id)
    control("recheck", audience, **data)
    announce_access_change(server_id, user_ids=user_ids, channel_id=channel_id)
