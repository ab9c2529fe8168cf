"""Server membership (api.md 2.6): member list, leaving, and nicknames (2.16).

Removing a member (leave, kick, ban) always goes through ``remove_membership`` so that the
membership, the user's channel_members rows and their assigned roles in the server go together,
and the user's open connections are told to re-check what they may still receive.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from django.db import transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, access_server
from chat.actions.audit import record_audit
from chat.actions.notify import notify_member_removed, notify_nickname
from chat.actions.servers import delete_server
from chat.actions.system_messages import post_system_message
from chat.models import Channel, ChannelMember, MemberRole, Server, ServerMember
from chat.permissions import Permission
from haven_site.api.errors import BadRequest, NotFound

MAX_NICKNAME_BYTES = 32


def list_members(
    user: User, server_id: uuid.UUID, limit: int, offset: int
) -> list[tuple[ServerMember, list[uuid.UUID]]]:
    """MEMBER; by ``joined_at``; each member with the ids of their assigned roles. Four queries
    (membership check, roles for the caller, the page with its users, their role ids)."""
    access = access_server(user.id, server_id)
    members = list(
        ServerMember.objects.filter(server=access.server)
        .select_related("user")
        .order_by("joined_at", "id")[offset : offset + limit]
    )
    roles: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if members:
        for user_id, role_id in (
            MemberRole.objects.filter(
                server=access.server, user_id__in=[m.user_id for m in members]
            )
            .order_by("role__position", "role_id")
            .values_list("user_id", "role_id")
        ):
            roles[user_id].append(role_id)
    return [(m, roles[m.user_id]) for m in members]


def first_channel(server: Server) -> Channel | None:
    return Channel.objects.filter(server=server).order_by("position", "created_at", "id").first()


def lock_membership(server_id: uuid.UUID) -> None:
    """Serialise membership changes of one server (join, leave, kick, ban) for the rest of the
    transaction, so that a ban and a join by invite racing each other cannot leave a banned
    member behind, nor an owner leave while someone joins. (SQLite's write lock already
    serialises every transaction.)"""
    list(Server.objects.select_for_update().filter(pk=server_id).values_list("pk", flat=True))


def remove_membership(server: Server, user_id: uuid.UUID) -> bool:
    """Delete the membership, the user's channel_members rows and their assigned roles in this
    server. True when the user was a member.

    As in Discord, a rejoining member starts with @everyone only: a kicked administrator who
    rejoins by invite is not an administrator again."""
    deleted, _ = ServerMember.objects.filter(server=server, user_id=user_id).delete()
    ChannelMember.objects.filter(channel__server=server, user_id=user_id).delete()
    MemberRole.objects.filter(server=server, user_id=user_id).delete()
    return bool(deleted)


def do_leave_server(user: User, server_id: uuid.UUID) -> None:
    """The owner may leave only as the last member, which deletes the server."""
    access = access_server(user.id, server_id, missing_server=SERVER_NOT_FOUND)
    server = access.server
    with transaction.atomic():
        lock_membership(server.id)
        if access.perms.is_owner:
            if ServerMember.objects.filter(server=server).exclude(user=user).exists():
                raise BadRequest(
                    "Server owner cannot leave while other members remain. "
                    "Transfer ownership or delete the server instead."
                )
            delete_server(server)
            return
        if not remove_membership(server, user.id):
            return  # left already (a concurrent leave, kick or ban)
        channel = (
            Channel.objects.filter(id=server.system_channel_id).first()
            if server.system_channel_id is not None
            else None
        )
        if channel is not None:
            post_system_message(channel, "member_left", user_id=user.id, username=user.username)
        notify_member_removed(server.id, user.id, banned=False)


def check_nickname(nickname: str | None) -> str | None:
    """At most 32 UTF-8 bytes with a non-whitespace character; null clears."""
    if nickname is None:
        return None
    if len(nickname.encode()) > MAX_NICKNAME_BYTES or not nickname.strip():
        raise BadRequest("Nickname must be 1-32 characters")
    return nickname


def do_set_own_nickname(user: User, server_id: uuid.UUID, nickname: str | None) -> None:
    access = access_server(user.id, server_id)
    value = check_nickname(nickname)
    with transaction.atomic():
        ServerMember.objects.filter(server=access.server, user=user).update(nickname=value)
        notify_nickname(access.server.id, user.id, value)


def do_set_member_nickname(
    user: User, server_id: uuid.UUID, target_id: uuid.UUID, nickname: str | None
) -> None:
    """OWNER_OR(MANAGE_SERVER), as the spec says (MANAGE_NICKNAMES is not used)."""
    access = access_server(
        user.id,
        server_id,
        need=Permission.MANAGE_SERVER,
        missing_server=SERVER_NOT_FOUND,
        missing_permission="Missing MANAGE_SERVER permission",
    )
    if not ServerMember.objects.filter(server=access.server, user_id=target_id).exists():
        raise NotFound("Member not found")
    value = check_nickname(nickname)
    with transaction.atomic():
        ServerMember.objects.filter(server=access.server, user_id=target_id).update(nickname=value)
        record_audit(
            access.server.id,
            user.id,
            "member_nickname_update",
            "member",
            target_id,
            {"nickname": value},
        )
        notify_nickname(access.server.id, target_id, value)
