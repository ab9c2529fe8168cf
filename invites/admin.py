"""Django admin for invitations: registration invites (list, search, issue, revoke unused ones)
and server invite codes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.actions.instance_audit import Actor
from haven_site.admin_generics import ModelAdmin
from invites.actions.registration import do_issue_invites, do_revoke_invites
from invites.models import RegistrationInvite, ServerInvite


@admin.register(RegistrationInvite)
class RegistrationInviteAdmin(ModelAdmin[RegistrationInvite]):
    list_display = ("code", "created_by", "used_by", "used_at", "expires_at", "created_at")
    list_filter = (("used_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("code", "created_by__username", "used_by__username")
    readonly_fields = ("code", "used_by", "used_at", "created_at")
    fields = ("code", "created_by", "expires_at", "used_by", "used_at", "created_at")
    actions = ["revoke_unused"]
    ordering = ("-created_at",)

    def save_model(
        self, request: HttpRequest, obj: RegistrationInvite, form: Any, change: bool
    ) -> None:
        """A new code is issued through the action (recorded); an edit changes its expiry."""
        if change:
            super().save_model(request, obj, form, change)
            return
        [issued] = do_issue_invites(
            Actor.admin(request.user), 1, owner=obj.created_by, expires_at=obj.expires_at
        )
        obj.pk, obj.code, obj.created_at = issued.pk, issued.code, issued.created_at

    @admin.action(description="Revoke selected unused invites")
    def revoke_unused(self, request: HttpRequest, queryset: QuerySet[RegistrationInvite]) -> None:
        chosen = list(queryset.values_list("id", flat=True))
        deleted = do_revoke_invites(Actor.admin(request.user), chosen)
        self.message_user(request, f"Revoked {deleted} invite(s).", messages.SUCCESS)
        if len(chosen) > deleted:
            kept = len(chosen) - deleted
            self.message_user(request, f"{kept} used invite(s) kept.", messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: RegistrationInvite) -> None:
        do_revoke_invites(Actor.admin(request.user), [obj.id])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RegistrationInvite]) -> None:
        do_revoke_invites(Actor.admin(request.user), list(queryset.values_list("id", flat=True)))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.used_at is None


@admin.register(ServerInvite)
class ServerInviteAdmin(ModelAdmin[ServerInvite]):
    list_display = ("code", "server", "created_by", "use_count", "max_uses", "expires_at")
    list_select_related = ("server", "created_by")
    search_fields = ("=code", "=server__id", "created_by__username")
    raw_id_fields = ("server", "created_by")
    readonly_fields = ("use_count", "created_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
