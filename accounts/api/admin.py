"""Instance-admin routes (api.md 2.26)."""

from __future__ import annotations

import uuid

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actions import admin
from accounts.actions.instance_audit import Actor
from accounts.api.schemas import SetAdminBody
from accounts.shapes import avatar_url
from haven_site.api.encoding import ts
from haven_site.api.errors import Forbidden
from haven_site.api.parsing import offset_page, parse_body, query_str
from haven_site.api.views import ApiView


class IsInstanceAdmin(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        if not getattr(request.user, "is_instance_admin", False):
            raise Forbidden("Instance admin access required")
        return True


class AdminView(ApiView):
    permission_classes = [IsInstanceAdmin]


class AdminUsersView(AdminView):
    def get(self, request: Request) -> Response:
        limit, offset = offset_page(request.query_params)
        users = admin.search_users(query_str(request.query_params, "search"), limit, offset)
        return Response(
            [
                {
                    "id": str(user.id),
                    "username": user.username,
                    "display_name": user.display_name,
                    "avatar_url": avatar_url(user),
                    "created_at": ts(user.created_at),
                    "is_instance_admin": user.is_instance_admin,
                    "server_count": user.server_count,  # type: ignore[attr-defined]
                }
                for user in users
            ]
        )


class AdminUserAdminFlagView(AdminView):
    def put(self, request: Request, user_id: uuid.UUID) -> Response:
        body = parse_body(request, SetAdminBody)
        target = admin.do_set_admin(Actor.api(self.user), user_id, body["is_admin"])
        return Response({"user_id": str(target.id), "is_instance_admin": target.is_instance_admin})


class AdminUserView(AdminView):
    def delete(self, request: Request, user_id: uuid.UUID) -> Response:
        admin.do_admin_delete_user(Actor.api(self.user), user_id)
        return Response({"deleted": True, "user_id": str(user_id)})
