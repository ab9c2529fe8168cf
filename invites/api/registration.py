"""Registration-invite routes (api.md 2.14)."""

from __future__ import annotations

import uuid

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions.instance_audit import Actor
from accounts.api.admin import AdminView
from accounts.api.limits import AuthRateLimitedView
from haven_site.api.errors import Unprocessable
from haven_site.api.fields import Int
from haven_site.api.parsing import Body, parse_body, query_count
from haven_site.api.views import ApiView
from invites.actions import registration
from invites.shapes import registration_invite

MAX_ADMIN_PAGE = 200


class CreateInvitesBody(Body):
    count = Int(required=False, allow_null=True)
    expires_in_days = Int(required=False, allow_null=True)


class InviteRequiredView(AuthRateLimitedView):
    def get(self, request: Request) -> Response:
        return Response({"invite_required": settings.HAVEN.registration_invite_only})


class MyInvitesView(ApiView):
    def get(self, request: Request) -> Response:
        return Response([registration_invite(i) for i in registration.invites_of(self.user)])


class AdminInvitesView(AdminView):
    def get(self, request: Request) -> Response:
        limit = min(query_count(request.query_params, "limit", 50), MAX_ADMIN_PAGE)
        offset = query_count(request.query_params, "offset", 0)
        invites = registration.all_invites(limit, offset)
        return Response([registration_invite(i) for i in invites])

    def post(self, request: Request) -> Response:
        body = parse_body(request, CreateInvitesBody)
        count = 1 if body["count"] is None else body["count"]
        days = body["expires_in_days"]
        if count < 0 or (days is not None and days < 0):
            raise Unprocessable(
                "Failed to deserialize the JSON body into the target type: "
                "invalid value: expected a non-negative integer"
            )
        invites = registration.do_admin_create_invites(Actor.api(self.user), count, days or None)
        return Response([registration_invite(i) for i in invites])


class AdminInviteView(AdminView):
    def delete(self, request: Request, invite_id: uuid.UUID) -> Response:
        registration.do_revoke_invite(Actor.api(self.user), invite_id)
        return Response({"deleted": True})
