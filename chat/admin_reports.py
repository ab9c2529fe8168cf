"""The report queue in the Django admin (docs/moderation.md): pending reports first, each with
what the reporter shared of the message, who reported whom, in which server and channel; and one
click to decide: dismiss, delete the message, time out or ban the author in that server, or
suspend the author instance-wide (chat.actions.report_decisions). The same reports are
reviewable over ``/api/v1/admin/reports``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from accounts.actions.admin import MAX_REASON
from accounts.actions.instance_audit import Actor
from chat.actions import report_decisions as decisions
from chat.meta import label
from chat.models import Channel, Report, ReportStatus, Server
from haven_site.admin_generics import ModelAdmin
from haven_site.api.errors import ApiError

TIMEOUTS = [
    (3600, "1 hour"),
    (86400, "1 day"),
    (7 * 86400, "7 days"),
    (28 * 86400, "28 days"),
]
MAX_SUSPENSION_DAYS = 3650


class DecisionForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k) for k in decisions.KINDS])
    reason = forms.CharField(required=False, max_length=MAX_REASON)
    timeout_seconds = forms.TypedChoiceField(choices=TIMEOUTS, coerce=int, required=False)
    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_SUSPENSION_DAYS)

    def decision(self) -> decisions.Decision:
        data = self.cleaned_data
        days = data.get("days")
        return decisions.Decision(
            kind=data["kind"],
            reason=data.get("reason") or "",
            timeout_seconds=data.get("timeout_seconds") or 0,
            suspend_until=timezone.now() + timedelta(days=days) if days else None,
        )


@admin.register(Report)
class ReportAdmin(ModelAdmin[Report]):
    list_display = (
        "created_at",
        "reason",
        "reporter",
        "reported_user",
        "server_name",
        "channel_name",
        "shared_content",
        "status",
        "outcome",
    )
    list_filter = ("status", "outcome")
    list_select_related = ("reporter", "reported_user")
    search_fields = ("reason", "reporter__username", "reported_user__username", "=message_id")
    ordering = ("-created_at",)
    fields = (
        "created_at",
        "status",
        "outcome",
        "reason",
        "reporter",
        "reported_user",
        "server_name",
        "channel_name",
        "message_id",
        "reporter_supplied",
        "resolved_by",
        "resolved_at",
    )
    readonly_fields = fields
    actions = ("mark_resolved", "mark_dismissed")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        channel = Channel.objects.filter(id=OuterRef("channel_id"))
        server = Server.objects.filter(id=OuterRef("_server_id"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _channel_meta=Subquery(channel.values("encrypted_meta")[:1]),
                _server_id=Subquery(channel.values("server_id")[:1]),
            )
            .annotate(_server_meta=Subquery(server.values("encrypted_meta")[:1]))
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The queue opens on the pending reports (newest on top)."""
        if not request.GET and request.method == "GET":
            url = reverse("admin:chat_report_changelist")
            return HttpResponseRedirect(f"{url}?status__exact={ReportStatus.PENDING}")
        return super().changelist_view(request, extra_context)

    def get_list_display(self, request: HttpRequest) -> Any:
        """The pending queue leaves out the columns that are the same on every row."""
        if request.GET.get("status__exact") == ReportStatus.PENDING:
            return self.list_display[:-2]
        return self.list_display

    @admin.display(description="server")
    def server_name(self, report: Report) -> str:
        server_id = getattr(report, "_server_id", None)
        if server_id is None:
            channel_known = getattr(report, "_channel_meta", None) is not None
            return "(direct message)" if channel_known else "-"
        return label(getattr(report, "_server_meta", None), server_id)

    @admin.display(description="channel")
    def channel_name(self, report: Report) -> str:
        return label(getattr(report, "_channel_meta", None), report.channel_id)

    @admin.display(boolean=True, description="shared")
    def shared_content(self, report: Report) -> bool:
        return bool(report.reporter_content or report.reporter_attachment_names)

    @admin.display(description="reporter-supplied content")
    def reporter_supplied(self, report: Report) -> str:
        """Escaped, and labelled as the reporter's word: the server cannot read the message."""
        note = format_html(
            '<p class="haven-note">{}</p>',
            "Supplied by the reporter's client, decrypted on their device. "
            "The server cannot check it against the encrypted message.",
        )
        if not report.reporter_content and not report.reporter_attachment_names:
            return format_html('{}<p class="haven-note">The reporter shared nothing.</p>', note)
        text = format_html('<pre class="haven-supplied">{}</pre>', report.reporter_content or "")
        names = format_html_join(
            "", "<li>{}</li>", ((name,) for name in report.reporter_attachment_names or [])
        )
        files = format_html("<p>Attachments:</p><ul>{}</ul>", names) if names else ""
        return format_html("{}{}{}", note, text, files)

    # --- deciding (templates/admin/chat/report/change_form.html) ---------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        report = self.get_object(request, object_id)
        desk = {
            "in_server": report is not None and getattr(report, "_server_id", None) is not None,
            "author": report.reported_user if report is not None else None,
            "timeouts": TIMEOUTS,
        }
        return super().change_view(
            request, object_id, form_url, {"desk": desk, **(extra_context or {})}
        )

    def get_urls(self) -> list[URLPattern]:
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("<path:object_id>/decide/", decide, name="chat_report_decide"),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        report = self.get_object(request, object_id)
        if report is None or request.method != "POST":
            raise Http404
        page = HttpResponseRedirect(reverse("admin:chat_report_change", args=[report.pk]))
        form = DecisionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Nothing done: {form.errors.as_text()}", messages.ERROR)
            return page
        try:
            decided = decisions.do_decide(Actor.admin(request.user), report.id, form.decision())
        except ApiError as error:
            self.message_user(request, error.message, messages.ERROR)
            return page
        self.message_user(request, f"Report {decided.status}: {decided.outcome}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:chat_report_changelist"))

    def _decide_each(self, request: HttpRequest, queryset: QuerySet[Report], kind: str) -> None:
        chosen = list(queryset)
        done = 0
        for report in chosen:
            if report.status == ReportStatus.PENDING and not Report.objects.filter(
                id=report.id, status=ReportStatus.PENDING
            ):
                continue  # settled with an earlier report of the same message
            try:
                decisions.do_decide(Actor.admin(request.user), report.id, decisions.Decision(kind))
                done += 1
            except ApiError as error:
                self.message_user(request, error.message, messages.ERROR)
        verb = "dismissed" if kind == decisions.DISMISS else "resolved"
        self.message_user(request, f"{done} report(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Mark selected reports resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._decide_each(request, queryset, decisions.RESOLVE)

    @admin.action(description="Dismiss selected reports")
    def mark_dismissed(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._decide_each(request, queryset, decisions.DISMISS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from users

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None  # the list's actions; a report changes only by a decision

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of a decision stays (the retention purge removes old ones)
