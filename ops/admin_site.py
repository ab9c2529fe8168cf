"""Haven's Django admin site (docs/moderation.md): Haven's sign-in form (TOTP, the API's rate
limit, suspensions), and a front page with the instance's numbers and the latest entries of the
instance audit log. Installed as the default site by ``ops.admin_config``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts.admin_login import TotpAdminAuthenticationForm
from ops.dashboard import dashboard_stats, recent_admin_actions


class HavenAdminSite(admin.AdminSite):
    site_header = "Haven administration"
    site_title = "Haven admin"
    index_title = "Moderation desk"
    index_template = "admin/haven_index.html"
    login_form = TotpAdminAuthenticationForm

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        context = {
            "stats": dashboard_stats(),
            "recent_admin_actions": recent_admin_actions(),
            **(extra_context or {}),
        }
        return super().index(request, context)
