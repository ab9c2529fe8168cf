"""Channel permission overwrites (api.md 2.11, 3.4).

Beyond the spec: the target must exist (a role of this server, or a member), and a
non-owner cannot allow bits they do not hold themself. See docs/api-servers.md.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.access import access_server_channel
from chat.actions.audit import record_audit
from chat.actions.notify import notify_permissions_changed
from chat.actions.roles import CANNOT_GRANT
from chat.models import PermissionOverwrite, Role, ServerMember, TargetType
from chat.permissions import Permission, ungrantable_bits
from haven_site.api.encoding import parse_perm
from haven_site.api.errors import BadRequest, Forbidden, NotFound

NOT_SERVER_CHANNEL = "Not a server channel"


def list_overwrites(user: User, channel_id: uuid.UUID) -> list[PermissionOverwrite]:
    access = access_server_channel(
        user.id, channel_id, direct_message=NOT_SERVER_CHANNEL, not_member="Not a server member"
    )
    return list(
        PermissionOverwrite.objects.filter(channel=access.channel).order_by("target_type", "id")
    )


def do_set_overwrite(
    user: User,
    channel_id: uuid.UUID,
    *,
    target_type: str,
    target_id: uuid.UUID,
    allow_bits: str,
    deny_bits: str,
) -> PermissionOverwrite:
    access = access_server_channel(
        user.id, channel_id, direct_message=NOT_SERVER_CHANNEL, need=Permission.MANAGE_CHANNELS
    )
    channel = access.channel
    assert channel.server_id is not None
    assert access.server is not None
    if target_type not in (TargetType.ROLE, TargetType.MEMBER):
        raise BadRequest("target_type must be 'role' or 'member'")
    allow = parse_perm(allow_bits)
    if allow is None:
        raise BadRequest("Invalid allow_bits")
    deny = parse_perm(deny_bits)
    if deny is None:
        raise BadRequest("Invalid deny_bits")
    if target_type == TargetType.ROLE:
        if not Role.objects.filter(id=target_id, server_id=channel.server_id).exists():
            raise NotFound("Role not found")
    elif not ServerMember.objects.filter(server_id=channel.server_id, user_id=target_id).exists():
        raise NotFound("Member not found")
    existing = PermissionOverwrite.objects.filter(
        channel=channel, target_type=target_type, target_id=target_id
    ).first()
    added = allow & ~(existing.allow_bits if existing else 0)
    if ungrantable_bits(access.server, added):
        raise Forbidden(CANNOT_GRANT)
    with transaction.atomic():
        overwrite = _upsert(channel.id, target_type, target_id, allow, deny)
        record_audit(
            channel.server_id,
            user.id,
            "overwrite_update",
            "channel",
            channel.id,
            {
                "target_type": target_type,
                "target_id": str(target_id),
                "allow": allow_bits,
                "deny": deny_bits,
            },
        )
        notify_permissions_changed(channel.server_id)
    return overwrite


def _upsert(
    channel_id: uuid.UUID, target_type: str, target_id: uuid.UUID, allow: int, deny: int
) -> PermissionOverwrite:
    for _ in range(2):  # a concurrent insert of the same key makes the second try an update
        try:
            with transaction.atomic():
                overwrite, _created = PermissionOverwrite.objects.update_or_create(
                    channel_id=channel_id,
                    target_type=target_type,
                    target_id=target_id,
                    defaults={"allow_bits": allow, "deny_bits": deny},
                )
                return overwrite
        except IntegrityError:
            continue
    raise IntegrityError("could not upsert the overwrite")


def do_delete_overwrite(
    user: User, channel_id: uuid.UUID, target_type: str, target_id: uuid.UUID
) -> None:
    """Idempotent; ``target_type`` is any path text."""
    access = access_server_channel(
        user.id, channel_id, direct_message=NOT_SERVER_CHANNEL, need=Permission.MANAGE_CHANNELS
    )
    channel = access.channel
    assert channel.server_id is not None
    with transaction.atomic():
        deleted, _ = PermissionOverwrite.objects.filter(
            channel=channel, target_type=target_type, target_id=target_id
        ).delete()
        if not deleted:
            return
        record_audit(
            channel.server_id,
            user.id,
            "overwrite_delete",
            "channel",
            channel.id,
            {"target_type": target_type, "target_id": str(target_id)},
        )
        notify_permissions_changed(channel.server_id)
