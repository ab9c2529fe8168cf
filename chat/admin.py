"""Django admin for the server domain: servers, channels, members, and the audit log (read-only).

Message bodies are ciphertext and are not shown anywhere here.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from chat import admin_reports  # noqa: F401 - registers the report review page
from chat.models import AuditLogEntry, Ban, Channel, ChannelCategory, Role, Server, ServerMember


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record that only the application writes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "member_count", "channel_count", "has_icon", "created_at")
    list_select_related = ("owner",)
    search_fields = ("=id", "owner__username")
    readonly_fields = ("id", "created_at", "encrypted_meta")
    raw_id_fields = ("owner", "system_channel")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Server]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("members", distinct=True),
                _channels=Count("channels", distinct=True),
            )
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, server: Server) -> int:
        return server._members  # type: ignore[attr-defined]

    @admin.display(description="channels", ordering="_channels")
    def channel_count(self, server: Server) -> int:
        return server._channels  # type: ignore[attr-defined]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("id", "server", "channel_type", "position", "is_private", "created_at")
    list_filter = ("channel_type", "is_private")
    list_select_related = ("server",)
    search_fields = ("=id", "=server__id")
    readonly_fields = ("id", "created_at", "encrypted_meta")
    raw_id_fields = ("server", "category")
    ordering = ("server", "position")


@admin.register(ChannelCategory)
class ChannelCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "server", "position", "created_at")
    search_fields = ("name", "=server__id")
    raw_id_fields = ("server",)


@admin.register(ServerMember)
class ServerMemberAdmin(admin.ModelAdmin):
    list_display = ("user", "server", "nickname", "joined_at", "timed_out_until")
    list_select_related = ("user", "server")
    search_fields = ("user__username", "nickname", "=server__id")
    raw_id_fields = ("user", "server")
    date_hierarchy = "joined_at"


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "server", "position", "permissions", "is_default")
    search_fields = ("name", "=server__id")
    raw_id_fields = ("server",)


@admin.register(Ban)
class BanAdmin(admin.ModelAdmin):
    list_display = ("user", "server", "banned_by", "reason", "created_at")
    list_select_related = ("user", "server", "banned_by")
    search_fields = ("user__username", "=server__id", "reason")
    raw_id_fields = ("user", "server", "banned_by")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "server", "actor", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    list_select_related = ("server", "actor")
    search_fields = ("action", "actor__username", "=server__id", "=target_id", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
