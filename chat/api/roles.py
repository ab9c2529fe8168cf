"""Role routes (api.md 2.11)."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import roles
from chat.api.schemas import CreateRoleBody, UpdateRoleBody
from chat.shapes import role_shape
from haven_site.api.parsing import parse_body
from haven_site.api.views import ApiView


def _fields(body: dict[str, Any]) -> roles.RoleFields:
    return roles.RoleFields(
        name=body["name"],
        color=body["color"],
        permissions=body["permissions"],
        position=body["position"],
    )


class RolesView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        return Response([role_shape(r) for r in roles.list_roles(self.user, server_id)])

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, CreateRoleBody)
        role = roles.do_create_role(self.user, server_id, _fields(body))
        return Response(role_shape(role))


class RoleView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID, role_id: uuid.UUID) -> Response:
        body = parse_body(request, UpdateRoleBody)
        role = roles.do_update_role(self.user, server_id, role_id, _fields(body))
        return Response(role_shape(role))

    def delete(self, request: Request, server_id: uuid.UUID, role_id: uuid.UUID) -> Response:
        roles.do_delete_role(self.user, server_id, role_id)
        return Response({"message": "Role deleted"})
