"""Server routes (api.md 2.6): servers, membership, the caller's permissions."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import members, moderation, servers
from chat.api.schemas import CreateServerBody, UpdateServerBody
from chat.shapes import member_shape, server_shape
from haven_site.api.encoding import perm
from haven_site.api.parsing import offset_page, parse_body
from haven_site.api.views import ApiView

OK = {"ok": True}


class ServersView(ApiView):
    def get(self, request: Request) -> Response:
        views = servers.servers_of(self.user)
        return Response([server_shape(v.server, v.my_permissions) for v in views])

    def post(self, request: Request) -> Response:
        body = parse_body(request, CreateServerBody)
        view = servers.do_create_server(self.user, body["encrypted_meta"])
        return Response(server_shape(view.server, view.my_permissions))


class ServerView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        view = servers.server_for_member(self.user, server_id)
        return Response(server_shape(view.server, view.my_permissions))

    def patch(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, UpdateServerBody)
        servers.do_update_server(
            self.user,
            server_id,
            system_channel_id=body["system_channel_id"],
            encrypted_meta=body["encrypted_meta"],
        )
        return Response(OK)

    def delete(self, request: Request, server_id: uuid.UUID) -> Response:
        servers.do_delete_server(self.user, server_id)
        return Response(OK)


class MyPermissionsView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        access = servers.my_permissions(self.user, server_id)
        return Response({"permissions": perm(access.perms.bits), "is_owner": access.perms.is_owner})


class LeaveView(ApiView):
    def delete(self, request: Request, server_id: uuid.UUID) -> Response:
        members.do_leave_server(self.user, server_id)
        return Response(OK)


class MembersView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        limit, offset = offset_page(request.query_params)
        page = members.list_members(self.user, server_id, limit, offset)
        return Response([member_shape(member, role_ids) for member, role_ids in page])


class MemberView(ApiView):
    def delete(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        moderation.do_kick(self.user, server_id, user_id)
        return Response({"kicked": True})
