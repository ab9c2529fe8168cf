"""Reports (api.md 2.24), the reporter's own list, and their review by instance admins (both
additions; docs/moderation.md)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.admin import AdminView
from chat.actions import report_decisions, reports
from chat.shapes import admin_report_shape, report_shape
from chat.shapes.reports import my_report_shape
from haven_site.api.fields import Choice, ListOf, Str, Uuid
from haven_site.api.parsing import Body, offset_page, parse_body, query_str
from haven_site.api.views import ApiView


class ReportBody(Body):
    message_id = Uuid()
    channel_id = Uuid()
    reason = Str()
    # Port additions, both optional: what the reporter's client decrypted, shared by choice.
    content = Str(required=False, allow_null=True)
    attachment_names = ListOf(child=Str(), required=False, allow_null=True)


class ReviewBody(Body):
    status = Choice("resolved", "dismissed")


class ReportsView(ApiView):
    def get(self, request: Request) -> Response:
        limit, offset = offset_page(request.query_params)
        return Response([my_report_shape(r) for r in reports.reports_of(self.user, limit, offset)])

    def post(self, request: Request) -> Response:
        body = parse_body(request, ReportBody)
        report = reports.do_report(
            self.user,
            body["message_id"],
            body["channel_id"],
            body["reason"],
            content=body["content"],
            attachment_names=body["attachment_names"],
        )
        return Response(report_shape(report))


class AdminReportsView(AdminView):
    def get(self, request: Request) -> Response:
        limit, offset = offset_page(request.query_params)
        status = query_str(request.query_params, "status") or None
        page = reports.reports_for_review(status, limit, offset)
        return Response([admin_report_shape(r, server) for r, server in page])


class AdminReportView(AdminView):
    def put(self, request: Request, report_id: uuid.UUID) -> Response:
        body = parse_body(request, ReviewBody)
        report = report_decisions.do_review(self.user, report_id, body["status"])
        return Response(admin_report_shape(report, reports.server_of(report)))
