"""Django admin page for message reports: instance admins review them here or over
``/api/v1/admin/reports``. Reports hold routing metadata only; message content stays encrypted."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from chat.models import Report, ReportStatus


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "status", "reason", "reporter", "channel_id", "message_id")
    list_filter = ("status",)
    search_fields = ("reason", "reporter__username")
    ordering = ("-created_at",)
    readonly_fields = (
        "id",
        "reporter",
        "message_id",
        "channel_id",
        "reason",
        "created_at",
        "resolved_by",
        "resolved_at",
    )
    fields = (*readonly_fields[:5], "status", *readonly_fields[5:])
    actions = ("mark_resolved", "mark_dismissed")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from users

    def save_model(self, request: HttpRequest, obj: Report, form: object, change: bool) -> None:
        if change and "status" in getattr(form, "changed_data", ()):
            obj.resolved_by = request.user  # type: ignore[assignment]
            obj.resolved_at = timezone.now()
        super().save_model(request, obj, form, change)

    def _decide(self, request: HttpRequest, queryset: QuerySet[Report], status: str) -> None:
        updated = queryset.update(
            status=status, resolved_by=request.user, resolved_at=timezone.now()
        )
        self.message_user(request, f"{updated} report(s) marked {status}.")

    @admin.action(description="Mark selected reports resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._decide(request, queryset, ReportStatus.RESOLVED)

    @admin.action(description="Mark selected reports dismissed")
    def mark_dismissed(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        self._decide(request, queryset, ReportStatus.DISMISSED)
