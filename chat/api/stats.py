"""``GET /admin/stats`` (api.md 2.26): the instance's numbers, for instance admins."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.admin import AdminView
from chat.actions.stats import instance_stats


class AdminStatsView(AdminView):
    def get(self, request: Request) -> Response:
        return Response(instance_stats())
