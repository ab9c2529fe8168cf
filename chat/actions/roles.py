"""Roles and their assignment (api.md 2.11), with the hierarchy rule HIER (3.5).

Beyond the spec: a non-owner cannot hand out permission bits they do not hold themself
(creating or editing a role, assigning a role), cannot move a role to or above their own top
position, cannot change the roles of the owner or of a member ranked at or above them, and an
unknown member answers 404 instead of 500. See docs/api-servers.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from accounts.models import User
from chat.access import SERVER_NOT_FOUND, ServerAccess, access_server
from chat.actions.audit import record_audit
from chat.actions.notify import (
    notify_member_roles,
    notify_permissions_changed,
    notify_server_updated,
)
from chat.models import MemberRole, Role, ServerMember
from chat.permissions import Permission, outranks_position, top_positions, ungrantable_bits
from haven_site.api.encoding import parse_perm
from haven_site.api.errors import BadRequest, Forbidden, NotFound

MAX_NAME = 100
MAX_COLOR = 32
CANNOT_GRANT = "Cannot grant permissions you do not have"


@dataclass(frozen=True)
class RoleFields:
    name: str | None = None
    color: str | None = None
    permissions: str | None = None
    position: int | None = None


def _manage(user: User, server_id: uuid.UUID) -> ServerAccess:
    return access_server(
        user.id, server_id, need=Permission.MANAGE_ROLES, missing_server=SERVER_NOT_FOUND
    )


def _check_text(fields: RoleFields) -> None:
    if fields.name is not None and len(fields.name) > MAX_NAME:
        raise BadRequest(f"Role name must be at most {MAX_NAME} characters")
    if fields.color is not None and len(fields.color) > MAX_COLOR:
        raise BadRequest(f"Role color must be at most {MAX_COLOR} characters")


def _role(access: ServerAccess, role_id: uuid.UUID) -> Role:
    role = Role.objects.filter(id=role_id, server=access.server).first()
    if role is None:
        raise NotFound("Role not found")
    return role


def list_roles(user: User, server_id: uuid.UUID) -> list[Role]:
    access = access_server(user.id, server_id)
    return list(Role.objects.filter(server=access.server).order_by("position", "created_at", "id"))


def do_create_role(user: User, server_id: uuid.UUID, fields: RoleFields) -> Role:
    """No hierarchy check on creation (as the spec); an unparsable or absent
    ``permissions`` string means 0."""
    access = _manage(user, server_id)
    _check_text(fields)
    bits = parse_perm(fields.permissions) if fields.permissions is not None else None
    bits = bits or 0
    if ungrantable_bits(access.perms, bits):
        raise Forbidden(CANNOT_GRANT)
    with transaction.atomic():
        role = Role.objects.create(
            server=access.server,
            name=fields.name or "",
            color=fields.color,
            permissions=bits,
            position=fields.position or 0,
        )
        record_audit(access.server.id, user.id, "role_create", "role", role.id, {"name": role.name})
        notify_server_updated(access.server.id)
    return role


def do_update_role(
    user: User, server_id: uuid.UUID, role_id: uuid.UUID, fields: RoleFields
) -> Role:
    """Null/absent fields stay; an unparsable ``permissions`` string is ignored."""
    access = _manage(user, server_id)
    role = _role(access, role_id)
    if not outranks_position(access.perms, role.position):
        raise Forbidden("Cannot edit a role at or above your position")
    if fields.position is not None and not outranks_position(access.perms, fields.position):
        raise Forbidden("Cannot move a role to or above your position")
    _check_text(fields)
    bits = parse_perm(fields.permissions) if fields.permissions is not None else None
    if bits is not None and ungrantable_bits(access.perms, bits & ~role.permissions):
        raise Forbidden(CANNOT_GRANT)
    if fields.name is not None:
        role.name = fields.name
    if fields.color is not None:
        role.color = fields.color
    if bits is not None:
        role.permissions = bits
    if fields.position is not None:
        role.position = fields.position
    with transaction.atomic():
        role.save(update_fields=["name", "color", "permissions", "position"])
        record_audit(access.server.id, user.id, "role_update", "role", role.id, {"name": role.name})
        notify_permissions_changed(access.server.id)
    return role


def do_delete_role(user: User, server_id: uuid.UUID, role_id: uuid.UUID) -> None:
    access = _manage(user, server_id)
    role = _role(access, role_id)
    if role.is_default:
        raise Forbidden("Cannot delete the default role")
    if not outranks_position(access.perms, role.position):
        raise Forbidden("Cannot delete a role at or above your position")
    with transaction.atomic():
        name = role.name
        role.delete()  # and its assignments
        record_audit(access.server.id, user.id, "role_delete", "role", role_id, {"name": name})
        notify_permissions_changed(access.server.id)


def _check_assignment(
    access: ServerAccess, user: User, target_id: uuid.UUID, role: Role, verb: str
) -> None:
    if not outranks_position(access.perms, role.position):
        raise Forbidden(f"Cannot {verb} a role at or above your position")
    if not ServerMember.objects.filter(server=access.server, user_id=target_id).exists():
        raise NotFound("Member not found")
    if access.perms.is_owner or target_id == user.id:
        return
    if target_id == access.server.owner_id:
        raise Forbidden("Cannot change the roles of the server owner")
    target_top = top_positions(access.server.id, [target_id])[target_id]
    if not outranks_position(access.perms, target_top):
        raise Forbidden("Cannot change the roles of a member with equal or higher role")


def _assigned(server_id: uuid.UUID, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        MemberRole.objects.filter(server_id=server_id, user_id=user_id)
        .order_by("role__position", "role_id")
        .values_list("role_id", flat=True)
    )


def do_assign_role(
    user: User, server_id: uuid.UUID, target_id: uuid.UUID, role_id: uuid.UUID
) -> None:
    """Idempotent. Assigning @everyone explicitly is allowed."""
    access = _manage(user, server_id)
    role = _role(access, role_id)
    _check_assignment(access, user, target_id, role, "assign")
    if ungrantable_bits(access.perms, role.permissions):
        raise Forbidden(CANNOT_GRANT)
    with transaction.atomic():
        try:
            with transaction.atomic():
                MemberRole.objects.create(server=access.server, user_id=target_id, role=role)
        except IntegrityError:
            return  # already assigned: nothing changes
        record_audit(
            access.server.id,
            user.id,
            "member_role_add",
            "member",
            target_id,
            {"role_id": str(role.id), "role_name": role.name},
        )
        notify_member_roles(access.server.id, target_id, _assigned(access.server.id, target_id))


def do_unassign_role(
    user: User, server_id: uuid.UUID, target_id: uuid.UUID, role_id: uuid.UUID
) -> None:
    """Idempotent."""
    access = _manage(user, server_id)
    role = _role(access, role_id)
    _check_assignment(access, user, target_id, role, "remove")
    with transaction.atomic():
        deleted, _ = MemberRole.objects.filter(
            server=access.server, user_id=target_id, role=role
        ).delete()
        if not deleted:
            return
        record_audit(
            access.server.id,
            user.id,
            "member_role_remove",
            "member",
            target_id,
            {"role_id": str(role.id), "role_name": role.name},
        )
        notify_member_roles(access.server.id, target_id, _assigned(access.server.id, target_id))
