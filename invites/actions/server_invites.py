"""Server invite codes (api.md 2.13): create, list, revoke, and join by code.

A join spends one use with a single conditional UPDATE (``use_count < max_uses`` and not
expired), so two people racing for the last use of an invite cannot both get in, and the
membership is created in the same transaction (rolled back with it on any later failure).
"""

from __future__ import annotations

import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from chat.access import (
    SERVER_NOT_FOUND,
    access_server,
    can_view,
    check_not_timed_out,
    server_permissions,
)
from chat.actions.members import lock_membership
from chat.actions.notify import notify_member_joined
from chat.actions.system_messages import post_system_message
from chat.models import Ban, Channel, ChannelMember, Server, ServerMember
from chat.permissions import Permission, ServerPermissions, permissions_in_channels
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from haven_site.ratelimit import check_write_limit
from invites.models import ServerInvite

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 8
MAX_EXPIRY_HOURS = 24 * 365 * 100  # far enough; beyond it the date would overflow


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def do_create_invite(
    user: User, server_id: uuid.UUID, max_uses: int | None, expires_in_hours: float | None
) -> ServerInvite:
    check_write_limit(user.id)
    access = access_server(
        user.id, server_id, need=Permission.CREATE_INVITES, missing_server=SERVER_NOT_FOUND
    )
    check_not_timed_out(user.id, access.server.id)  # a timed-out member brings nobody in
    if max_uses is not None and max_uses < 1:
        raise BadRequest("max_uses must be at least 1")
    expires_at = None
    if expires_in_hours is not None:
        if not math.isfinite(expires_in_hours) or expires_in_hours <= 0:
            raise BadRequest("expires_in_hours must be a positive number")
        if expires_in_hours > MAX_EXPIRY_HOURS:
            raise BadRequest("expires_in_hours is too large")
        expires_at = timezone.now() + timedelta(seconds=int(expires_in_hours * 3600))
    for _ in range(5):
        try:
            with transaction.atomic():
                return ServerInvite.objects.create(
                    server=access.server,
                    created_by=user,
                    code=new_code(),
                    max_uses=max_uses,
                    expires_at=expires_at,
                )
        except IntegrityError:  # a code collision (55^8 codes): draw again
            continue
    raise IntegrityError("could not draw a free invite code")


def invites_page(user: User, server_id: uuid.UUID, limit: int, offset: int) -> list[ServerInvite]:
    access = access_server(
        user.id, server_id, need=Permission.MANAGE_INVITES, missing_server=SERVER_NOT_FOUND
    )
    return list(
        ServerInvite.objects.filter(server=access.server).order_by("-created_at", "-id")[
            offset : offset + limit
        ]
    )


def do_delete_invite(user: User, server_id: uuid.UUID, invite_id: uuid.UUID) -> None:
    """Only an invite of this server; another id answers 404."""
    access = access_server(
        user.id, server_id, need=Permission.MANAGE_INVITES, missing_server=SERVER_NOT_FOUND
    )
    deleted, _ = ServerInvite.objects.filter(id=invite_id, server=access.server).delete()
    if not deleted:
        raise NotFound("Invite not found")


@dataclass(frozen=True)
class Joined:
    server: Server
    my_permissions: int


def _usable(now: datetime) -> Q:
    return (Q(max_uses__isnull=True) | Q(use_count__lt=F("max_uses"))) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def do_join_by_code(user: User, code: str) -> Joined:
    invite = ServerInvite.objects.select_related("server").filter(code=code).first()
    if invite is None:
        raise NotFound("Invalid invite code")
    now = timezone.now()
    _check_usable(invite, now)
    server = invite.server
    if Ban.objects.filter(server=server, user=user).exists():
        raise Forbidden("You are banned from this server")
    if ServerMember.objects.filter(server=server, user=user).exists():
        raise BadRequest("Already a member of this server")
    with transaction.atomic():
        lock_membership(server.id)
        if Ban.objects.filter(server=server, user=user).exists():  # banned meanwhile
            raise Forbidden("You are banned from this server")
        spent = ServerInvite.objects.filter(_usable(now), pk=invite.pk).update(
            use_count=F("use_count") + 1
        )
        if not spent:  # used up (or expired, or revoked) since we read it
            fresh = ServerInvite.objects.filter(pk=invite.pk).first()
            if fresh is None:
                raise NotFound("Invalid invite code")
            _check_usable(fresh, now)
            raise BadRequest("Invite has reached max uses")
        try:
            with transaction.atomic():
                ServerMember.objects.create(server=server, user=user)
        except IntegrityError:
            raise BadRequest("Already a member of this server") from None
        perms = server_permissions(user.id, server)
        _join_visible_channels(user, server, perms)
        channel = _announcement_channel(server)
        if channel is not None:
            post_system_message(channel, "member_joined", user_id=user.id, username=user.shown_name)
        notify_member_joined(server.id, user.id)
    return Joined(server, perms.bits)


def _check_usable(invite: ServerInvite, now: datetime) -> None:
    if invite.expires_at is not None and invite.expires_at <= now:
        raise BadRequest("Invite has expired")
    if invite.max_uses is not None and invite.use_count >= invite.max_uses:
        raise BadRequest("Invite has reached max uses")


def _join_visible_channels(user: User, server: Server, perms: ServerPermissions) -> None:
    """channel_members rows for every channel the new member can see. Private channels they
    cannot see get none: those rows drive sender-key distribution (E2EE), so a row would hand
    the newcomer the keys of a channel that is hidden from them."""
    channels = list(Channel.objects.filter(server=server))
    bits = permissions_in_channels(user.id, channels, perms)
    ChannelMember.objects.bulk_create(
        [ChannelMember(channel=c, user=user) for c in channels if can_view(bits[c.id])],
        ignore_conflicts=True,
    )


def _announcement_channel(server: Server) -> Channel | None:
    """The system channel, else the first channel by position."""
    if server.system_channel_id is not None:
        channel = Channel.objects.filter(id=server.system_channel_id).first()
        if channel is not None:
            return channel
    return Channel.objects.filter(server=server).order_by("position", "created_at", "id").first()
