"""The OpenAPI description of the invite routes (api.md 2.13-2.14; haven_site.api.openapi)."""

from __future__ import annotations

from chat.shapes.openapi import ServerResponse
from haven_site.api.fields import Bool, Int, Str, Timestamp, Uuid
from haven_site.api.openapi import INTEGER, OFFSET, Shape, annotate, const, nullable, obj, op, query
from invites.api import registration, server_invites


class InviteResponse(Shape):
    id = Uuid()
    code = Str()
    server_id = Uuid()
    max_uses = nullable(Int)
    use_count = Int()
    expires_at = nullable(Timestamp)
    created_at = Timestamp()


class RegistrationInviteResponse(Shape):
    id = Uuid()
    code = Str()
    created_by = nullable(Uuid)
    used = Bool()
    used_by = nullable(Uuid)
    expires_at = nullable(Timestamp)
    created_at = Timestamp()


LIMIT = query("limit", INTEGER, "Page size (default 50, clamped into 1..100)")

annotate(
    {
        registration.InviteRequiredView: {
            "get": op(obj({"invite_required": {"type": "boolean"}}), errors=(429,))
        },
        registration.MyInvitesView: {"get": op(RegistrationInviteResponse(many=True))},
        registration.AdminInvitesView: {
            "get": op(
                RegistrationInviteResponse(many=True),
                params=[query("limit", INTEGER, "Default 50, at most 200"), OFFSET],
            ),
            "post": op(RegistrationInviteResponse(many=True), body=registration.CreateInvitesBody),
        },
        registration.AdminInviteView: {"delete": op(obj({"deleted": const(True)}))},
        server_invites.ServerInvitesView: {
            "get": op(InviteResponse(many=True), params=[LIMIT, OFFSET]),
            "post": op(InviteResponse, body=server_invites.CreateInviteBody),
        },
        server_invites.ServerInviteView: {"delete": op(obj({"deleted": const(True)}))},
        server_invites.JoinView: {"post": op(ServerResponse)},
    }
)
