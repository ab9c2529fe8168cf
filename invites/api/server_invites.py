"""Server invite routes (api.md 2.13)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.shapes import server_shape
from haven_site.api.fields import Int, Number
from haven_site.api.parsing import Body, offset_page, parse_body
from haven_site.api.views import ApiView
from invites.actions import server_invites
from invites.shapes import server_invite


class CreateInviteBody(Body):
    max_uses = Int(required=False, allow_null=True)
    expires_in_hours = Number(required=False, allow_null=True)


class ServerInvitesView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        limit, offset = offset_page(request.query_params)
        page = server_invites.invites_page(self.user, server_id, limit, offset)
        return Response([server_invite(i) for i in page])

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, CreateInviteBody)
        invite = server_invites.do_create_invite(
            self.user, server_id, body["max_uses"], body["expires_in_hours"]
        )
        return Response(server_invite(invite))


class ServerInviteView(ApiView):
    def delete(self, request: Request, server_id: uuid.UUID, invite_id: uuid.UUID) -> Response:
        server_invites.do_delete_invite(self.user, server_id, invite_id)
        return Response({"deleted": True})


class JoinView(ApiView):
    def post(self, request: Request, code: str) -> Response:
        joined = server_invites.do_join_by_code(self.user, code)
        return Response(server_shape(joined.server, joined.my_permissions))
