"""Member routes: nicknames (api.md 2.16), timeouts (2.17), bans (2.15), role assignment (2.11)
and the audit log (2.18)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import audit, members, moderation, roles
from chat.api.schemas import AssignRoleBody, BanBody, NicknameBody, TimeoutBody
from chat.shapes import audit_shape, ban_shape
from haven_site.api.encoding import ts
from haven_site.api.parsing import offset_page, parse_body, query_int, query_timestamp
from haven_site.api.views import ApiView

OK = {"ok": True}


class OwnNicknameView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, NicknameBody)
        members.do_set_own_nickname(self.user, server_id, body["nickname"])
        return Response(OK)


class MemberNicknameView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, NicknameBody)
        members.do_set_member_nickname(self.user, server_id, user_id, body["nickname"])
        return Response(OK)


class TimeoutView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, TimeoutBody)
        until = moderation.do_timeout(
            self.user, server_id, user_id, body["duration_seconds"], body["reason"]
        )
        return Response({"timed_out_until": ts(until)})


class BansView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        limit, offset = offset_page(request.query_params)
        return Response(
            [ban_shape(b) for b in moderation.bans_page(self.user, server_id, limit, offset)]
        )


class BanView(ApiView):
    def post(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, BanBody)
        ban = moderation.do_ban(self.user, server_id, user_id, body["reason"])
        return Response(ban_shape(ban))

    def delete(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        moderation.do_unban(self.user, server_id, user_id)
        return Response({"unbanned": True})


class MemberRolesView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, AssignRoleBody)
        roles.do_assign_role(self.user, server_id, user_id, body["role_id"])
        return Response({"message": "Role assigned"})


class MemberRoleView(ApiView):
    def delete(
        self, request: Request, server_id: uuid.UUID, user_id: uuid.UUID, role_id: uuid.UUID
    ) -> Response:
        roles.do_unassign_role(self.user, server_id, user_id, role_id)
        return Response({"message": "Role removed"})


class AuditLogView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        query = request.query_params
        limit = query_int(query, "limit", audit.DEFAULT_PAGE)
        before = query_timestamp(query, "before")
        entries = audit.audit_log(self.user, server_id, before=before, limit=limit)
        return Response([audit_shape(e) for e in entries])
