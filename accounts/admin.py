"""Django admin for instance moderation: users and their login sessions.

Instance admins sign in here with their Haven password and, when they use two-factor
authentication, their TOTP code (accounts.admin_login)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from accounts.actions.sessions import do_end_sessions
from accounts.admin_login import TotpAdminAuthenticationForm
from accounts.models import DeviceSession, User

admin.site.login_form = TotpAdminAuthenticationForm
admin.site.site_header = "Haven administration"
admin.site.site_title = "Haven admin"


class DeviceSessionInline(admin.TabularInline):
    model = DeviceSession
    extra = 0
    fields = ("device_name", "ip_address", "created_at", "last_activity")
    readonly_fields = fields
    can_delete = True
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = (
        "username",
        "display_name",
        "is_instance_admin",
        "two_factor",
        "servers",
        "created_at",
    )
    list_filter = ("is_instance_admin", "created_at")
    search_fields = ("username", "display_name")
    ordering = ("-created_at",)
    fields = (
        "username",
        "display_name",
        "is_instance_admin",
        "dm_privacy",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("username", "created_at", "updated_at")
    inlines = [DeviceSessionInline]
    actions = ["end_sessions"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(server_total=Count("memberships"))

    @admin.display(boolean=True, description="2FA")
    def two_factor(self, user: User) -> bool:
        return user.totp_enabled

    @admin.display(description="servers", ordering="server_total")
    def servers(self, user: User) -> int:
        return int(getattr(user, "server_total", 0))

    @admin.action(description="Sign out of every device")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        from accounts.actions.sessions import do_end_all_sessions

        for user in queryset:
            do_end_all_sessions(user)
        self.message_user(request, f"Signed out {queryset.count()} user(s).", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created by registration (they need the client's keys)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Sessions deleted in the inline are revoked (their sockets close), not just removed."""
        if formset.model is not DeviceSession:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        do_end_sessions(formset.deleted_objects)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        from accounts.actions.auth import do_delete_user

        do_delete_user(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        from accounts.actions.auth import do_delete_user

        for user in queryset:
            do_delete_user(user)


@admin.register(DeviceSession)
class DeviceSessionAdmin(admin.ModelAdmin):
    list_display = ("user", "device_name", "ip_address", "created_at", "last_activity")
    search_fields = ("user__username", "device_name")
    list_select_related = ("user",)
    ordering = ("-last_activity",)
    readonly_fields = ("user", "device_name", "ip_address", "created_at", "last_activity")
    actions = ["revoke"]

    @admin.action(description="Revoke selected sessions")
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceSession]) -> None:
        ended = do_end_sessions(queryset)
        self.message_user(request, f"Revoked {ended} session(s).", messages.SUCCESS)

    # Deleting a session row is revoking it: its sockets close too.
    def delete_model(self, request: HttpRequest, obj: DeviceSession) -> None:
        do_end_sessions([obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DeviceSession]) -> None:
        do_end_sessions(queryset)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
