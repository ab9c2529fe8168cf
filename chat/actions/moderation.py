"""Kick (api.md 2.6), bans (2.15) and timeouts (2.17).

Kick and ban follow the same rules as timeouts: nobody acts on the owner, and a non-owner acts
only on members whose highest role position is strictly below their own. A ban also posts a
``member_banned`` system message (like ``member_kicked``) so that clients rotate the channel keys.
See docs/api-servers.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, ServerAccess, access_server
from chat.actions.audit import record_audit
from chat.actions.members import first_channel, lock_membership, remove_membership
from chat.actions.notify import notify_member_removed, notify_member_unbanned, notify_timed_out
from chat.actions.system_messages import post_system_message
from chat.models import Ban, Server, ServerMember
from chat.permissions import Permission, outranks_position, top_positions
from haven_site.api.errors import BadRequest, Conflict, Forbidden, NotFound

MAX_TIMEOUT_SECONDS = 28 * 24 * 3600  # 2,419,200


def _check_can_act(access: ServerAccess, target_id: uuid.UUID, verb: str) -> None:
    """Never on the owner; a non-owner only below their own top role position."""
    if target_id == access.server.owner_id:
        raise Forbidden(f"Cannot {verb} the server owner")
    if access.perms.is_owner:
        return
    target_top = top_positions(access.server.id, [target_id])[target_id]
    if not outranks_position(access.perms, target_top):
        raise Forbidden(f"Cannot {verb} a member with equal or higher role")


def _name(user: User | None) -> str:
    return user.shown_name if user is not None else "Unknown"


def do_kick(user: User, server_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """Idempotent: kicking a non-member changes nothing (no message, no audit, no event)."""
    access = access_server(
        user.id, server_id, need=Permission.KICK_MEMBERS, missing_server=SERVER_NOT_FOUND
    )
    if target_id == user.id:
        raise BadRequest("Cannot kick yourself")
    if not ServerMember.objects.filter(server=access.server, user_id=target_id).exists():
        return  # the owner always is a member: _check_can_act refuses them below
    _check_can_act(access, target_id, "kick")
    target = User.objects.filter(id=target_id).first()
    username = _name(target)
    with transaction.atomic():
        lock_membership(access.server.id)
        if not remove_membership(access.server, target_id):
            return  # a concurrent kick or leave got there first
        channel = first_channel(access.server)
        if channel is not None:
            post_system_message(channel, "member_kicked", user_id=target_id, username=username)
        record_audit(
            access.server.id, user.id, "member_kick", "member", target_id, {"username": username}
        )
        notify_member_removed(access.server.id, target_id, banned=False)


def do_ban(user: User, server_id: uuid.UUID, target_id: uuid.UUID, reason: str | None) -> Ban:
    access = access_server(
        user.id, server_id, need=Permission.BAN_MEMBERS, missing_server=SERVER_NOT_FOUND
    )
    if target_id == user.id:
        raise BadRequest("Cannot ban yourself")
    target = User.objects.filter(id=target_id).first()
    if target is None:
        raise NotFound("User not found")
    _check_can_act(access, target_id, "ban")
    if Ban.objects.filter(server=access.server, user_id=target_id).exists():
        raise Conflict("User is already banned from this server")
    return ban_member(access.server, target, by=user, reason=reason)


def ban_member(server: Server, target: User, *, by: User, reason: str | None) -> Ban:
    """The ban itself, once authorised (``do_ban``, or an instance admin's report decision):
    the ban row, the membership gone, a ``member_banned`` system message, the audit entry."""
    username = target.shown_name
    with transaction.atomic():
        lock_membership(server.id)
        try:
            with transaction.atomic():
                ban = Ban.objects.create(server=server, user=target, reason=reason, banned_by=by)
        except IntegrityError:
            raise Conflict("User is already banned from this server") from None
        if remove_membership(server, target.id):
            channel = first_channel(server)
            if channel is not None:
                post_system_message(channel, "member_banned", user_id=target.id, username=username)
        record_audit(
            server.id, by.id, "member_ban", "member", target.id, {"username": username}, reason
        )
        notify_member_removed(server.id, target.id, banned=True)
    return ban


def do_unban(user: User, server_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """Idempotent: no audit entry or event when there was no ban."""
    access = access_server(
        user.id, server_id, need=Permission.BAN_MEMBERS, missing_server=SERVER_NOT_FOUND
    )
    with transaction.atomic():
        deleted, _ = Ban.objects.filter(server=access.server, user_id=target_id).delete()
        if not deleted:
            return
        record_audit(access.server.id, user.id, "member_unban", "member", target_id)
        notify_member_unbanned(access.server.id, target_id)


def bans_page(user: User, server_id: uuid.UUID, limit: int, offset: int) -> list[Ban]:
    access = access_server(
        user.id, server_id, need=Permission.BAN_MEMBERS, missing_server=SERVER_NOT_FOUND
    )
    return list(
        Ban.objects.filter(server=access.server)
        .select_related("user")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )


def do_timeout(
    user: User,
    server_id: uuid.UUID,
    target_id: uuid.UUID,
    duration_seconds: int,
    reason: str | None,
) -> datetime | None:
    """``duration_seconds > 0``: until now + min(duration, 28 days); otherwise lifted."""
    access = access_server(
        user.id, server_id, need=Permission.MODERATE_MEMBERS, missing_server=SERVER_NOT_FOUND
    )
    if target_id == user.id:
        raise BadRequest("Cannot timeout yourself")
    if not ServerMember.objects.filter(server=access.server, user_id=target_id).exists():
        raise NotFound("Member not found")
    _check_can_act(access, target_id, "timeout")
    return time_out_member(
        access.server, target_id, by=user, duration_seconds=duration_seconds, reason=reason
    )


def time_out_member(
    server: Server,
    target_id: uuid.UUID,
    *,
    by: User,
    duration_seconds: int,
    reason: str | None,
) -> datetime | None:
    """The timeout itself, once authorised (``do_timeout``, or an instance admin's report
    decision): until now + min(duration, 28 days), or lifted when ``duration_seconds <= 0``."""
    until = None
    if duration_seconds > 0:
        until = timezone.now() + timedelta(seconds=min(duration_seconds, MAX_TIMEOUT_SECONDS))
    with transaction.atomic():
        ServerMember.objects.filter(server=server, user_id=target_id).update(timed_out_until=until)
        record_audit(
            server.id,
            by.id,
            "member_timeout",
            "member",
            target_id,
            {"duration_seconds": duration_seconds},
            reason,
        )
        members = ServerMember.objects.filter(server=server).values_list("user_id", flat=True)
        notify_timed_out(server.id, target_id, until, list(members))
    return until
