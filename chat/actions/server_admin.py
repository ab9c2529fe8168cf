"""Instance admins and servers (docs/moderation.md): take down an abusive server, or hand a
server to another of its members (its owner left the community, or abused the owner's powers).

Both go through the same code as the owner's own actions (``delete_server``: ``ServerDeleted``
to every member, their sockets drop the server's channels), and record themselves in the
instance audit log; a transfer also writes ``owner_transfer`` in the server's own audit log, so
its members can see who changed hands and why.
"""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.actions.admin import check_reason
from accounts.actions.instance_audit import Action, Actor, record
from accounts.models import User
from chat.actions.audit import record_audit
from chat.actions.notify import notify_permissions_changed
from chat.actions.servers import delete_server
from chat.meta import label
from chat.models import Server, ServerMember
from haven_site.api.errors import BadRequest, NotFound

SERVER_NOT_FOUND = "Server not found"


def _locked(server_id: uuid.UUID) -> Server:
    server = Server.objects.select_for_update().filter(id=server_id).first()
    if server is None:
        raise NotFound(SERVER_NOT_FOUND)
    return server


def do_admin_delete_server(actor: Actor, server_id: uuid.UUID, *, reason: str) -> None:
    reason = check_reason(reason, required=True)
    with transaction.atomic():
        server = _locked(server_id)
        members = ServerMember.objects.filter(server=server).count()
        owner = User.objects.filter(id=server.owner_id).values_list("username", flat=True)
        record(
            actor,
            Action.SERVER_DELETE,
            target_type="server",
            target_id=server.id,
            target_label=label(server.encrypted_meta, server.id),
            reason=reason,
            details={"owner": owner.first(), "members": members},
        )
        delete_server(server)


def do_transfer_ownership(
    actor: Actor, server_id: uuid.UUID, new_owner: User, *, reason: str
) -> Server:
    """The new owner must already be a member (an owner outside their server could not see it)."""
    reason = check_reason(reason, required=True)
    with transaction.atomic():
        server = _locked(server_id)
        if server.owner_id == new_owner.id:
            raise BadRequest(f"{new_owner.username} already owns this server")
        if not ServerMember.objects.filter(server=server, user=new_owner).exists():
            raise BadRequest(f"{new_owner.username} is not a member of this server")
        previous = server.owner_id
        previous_name = User.objects.filter(id=previous).values_list("username", flat=True).first()
        server.owner = new_owner
        server.save(update_fields=["owner"])
        changes = {"from": str(previous), "to": str(new_owner.id)}
        if actor.user is not None:
            record_audit(
                server.id, actor.user.id, "owner_transfer", "member", new_owner.id, changes, reason
            )
        record(
            actor,
            Action.SERVER_TRANSFER,
            target_type="server",
            target_id=server.id,
            target_label=label(server.encrypted_meta, server.id),
            reason=reason,
            details={**changes, "from_username": previous_name, "to_username": new_owner.username},
        )
        # owner_id changed: clients reload the server, sockets re-check what they may read.
        notify_permissions_changed(server.id)
    return server
