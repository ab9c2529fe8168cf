"""``GET /users/{id}/profile`` (api.md 2.4): the profile card, with what the viewer and the user
share (``chat.actions.profiles``)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.profiles import profile
from chat.shapes.social import profile_shape
from haven_site.api.parsing import query_uuid
from haven_site.api.views import ApiView


class UserProfileView(ApiView):
    def get(self, request: Request, user_id: uuid.UUID) -> Response:
        server_id = query_uuid(request.query_params, "server_id")
        return Response(profile_shape(profile(self.user, user_id, server_id)))
