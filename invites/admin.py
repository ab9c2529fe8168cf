"""Django admin for server invite codes."""

from __future__ import annotations

from django.contrib import admin

from invites.models import ServerInvite


@admin.register(ServerInvite)
class ServerInviteAdmin(admin.ModelAdmin):
    list_display = ("code", "server", "created_by", "use_count", "max_uses", "expires_at")
    list_select_related = ("server", "created_by")
    search_fields = ("=code", "=server__id", "created_by__username")
    raw_id_fields = ("server", "created_by")
    readonly_fields = ("use_count", "created_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
