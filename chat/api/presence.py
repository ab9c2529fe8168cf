"""Presence (api.md 2.23), for signed-in users only: a user who blocked the caller must read as
offline, and presence is not public information."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions.presence import statuses_for
from haven_site.api.fields import parse_uuid
from haven_site.api.parsing import query_str
from haven_site.api.views import ApiView


class PresenceView(ApiView):
    def get(self, request: Request) -> Response:
        raw = query_str(request.query_params, "user_ids", required=True) or ""
        ids = [u for u in (parse_uuid(part) for part in raw.split(",")) if u is not None]
        return Response([{"user_id": str(u), "status": s} for u, s in statuses_for(self.user, ids)])
