"""Django admin for instance moderation: users, their login sessions, and the instance audit log.

Instance admins sign in with their Haven password and, when they use two-factor authentication,
their TOTP code (accounts.admin_login). Every change to a user goes through the actions of
``accounts.actions.admin`` and so records itself in the instance audit log; user fields are not
edited directly (docs/moderation.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Count, Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from accounts.actions import admin as actions
from accounts.actions.instance_audit import Actor
from accounts.models import DeviceSession, InstanceAuditEntry, User, not_suspended
from haven_site.admin_generics import ModelAdmin, TabularInline
from haven_site.api.errors import ApiError

MAX_SUSPENSION_DAYS = 3650

_M = TypeVar("_M", bound=Model)


def _actor(request: HttpRequest) -> Actor:
    return Actor.admin(request.user)


class ReadOnlyAdmin(ModelAdmin[_M]):
    """A record that only the application writes."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeviceSessionInline(TabularInline[DeviceSession, User]):
    model = DeviceSession
    extra = 0
    fields = ("device_name", "ip_address", "created_at", "last_activity")
    readonly_fields = fields
    can_delete = True
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SuspendedFilter(admin.SimpleListFilter):
    title = "suspension"
    parameter_name = "suspended"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Suspended now"), ("no", "Not suspended")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if self.value() == "yes":
            return queryset.exclude(not_suspended())
        if self.value() == "no":
            return queryset.filter(not_suspended())
        return queryset


class UserModerationForm(forms.Form):
    """One of the user page's buttons, with its reason (and a suspension's length)."""

    OPS = (
        "suspend",
        "unsuspend",
        "sign_out",
        "reset_2fa",
        "require_password_change",
        "grant_admin",
        "revoke_admin",
    )
    op = forms.ChoiceField(choices=[(op, op) for op in OPS])
    reason = forms.CharField(required=False, max_length=actions.MAX_REASON)
    days = forms.IntegerField(required=False, min_value=1, max_value=MAX_SUSPENSION_DAYS)


# Haven has no Django groups or permissions: instance admins hold every power (User.has_perm).
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(ModelAdmin[User]):
    list_display = (
        "username",
        "display_name",
        "is_instance_admin",
        "two_factor",
        "suspension",
        "servers",
        "created_at",
    )
    list_filter = ("is_instance_admin", SuspendedFilter, "created_at")
    search_fields = ("username", "display_name")
    ordering = ("-created_at",)
    fields = (
        "username",
        "display_name",
        "is_instance_admin",
        "two_factor",
        "suspension",
        "password_change_required",
        "dm_privacy",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [DeviceSessionInline]
    actions = [
        "end_sessions",
        "unsuspend",
        "reset_2fa",
        "require_password_change",
        "grant_admin",
        "revoke_admin",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(server_total=Count("memberships"))

    @admin.display(boolean=True, description="2FA")
    def two_factor(self, user: User) -> bool:
        return user.totp_enabled

    @admin.display(description="servers", ordering="server_total")
    def servers(self, user: User) -> int:
        return int(getattr(user, "server_total", 0))

    @admin.display(description="suspended")
    def suspension(self, user: User) -> str:
        if not user.is_suspended:
            return "-"
        until = (
            f"until {user.suspended_until:%Y-%m-%d %H:%M} UTC"
            if user.suspended_until
            else "indefinitely"
        )
        return f"{until}: {user.suspension_reason}"

    # --- the user page's buttons (templates/admin/accounts/user/change_form.html) ---------------

    def get_urls(self) -> list[URLPattern]:
        moderate = self.admin_site.admin_view(self.moderate_view)
        return [
            path("<path:object_id>/moderate/", moderate, name="accounts_user_moderate"),
            *super().get_urls(),
        ]

    def moderate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        user = self.get_object(request, object_id)
        if user is None or not self.has_change_permission(request, user):
            raise Http404
        page = HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        form = UserModerationForm(request.POST if request.method == "POST" else None)
        if request.method != "POST" or not form.is_valid():
            self.message_user(request, f"Nothing done: {form.errors.as_text()}", messages.ERROR)
            return page
        data = form.cleaned_data
        try:
            done = self._moderate(request, user, data["op"], data["reason"], data["days"])
        except ApiError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return page

    def _moderate(
        self, request: HttpRequest, user: User, op: str, reason: str, days: int | None
    ) -> str:
        actor = _actor(request)
        if op == "suspend":
            until = timezone.now() + timedelta(days=days) if days else None
            actions.do_suspend(actor, user, reason=reason, until=until)
            length = f"for {days} day(s)" if days else "until lifted"
            return f"Suspended {user.username} {length}; their sessions ended."
        if op == "unsuspend":
            actions.do_unsuspend(actor, user, reason=reason)
            return f"{user.username} can sign in again."
        if op == "sign_out":
            ended = actions.do_sign_out_everywhere(actor, user, reason=reason)
            return f"Signed {user.username} out of {ended} session(s)."
        if op == "reset_2fa":
            if actions.do_reset_2fa(actor, user, reason=reason):
                return f"Two-factor authentication of {user.username} is off."
            return f"{user.username} had no two-factor authentication; nothing changed."
        if op == "require_password_change":
            actions.do_require_password_change(actor, user, reason=reason)
            return f"{user.username} must choose a new password at the next sign-in."
        granted = op == "grant_admin"
        actions.do_set_admin(actor, user.id, granted, reason=reason)
        return f"{user.username} is {'now' if granted else 'no longer'} an instance admin."

    # --- list actions (no reason asked) ----------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet[User], op: str) -> None:
        done = 0
        for user in queryset:
            try:
                self._moderate(request, user, op, "", None)
                done += 1
            except ApiError as error:
                self.message_user(request, f"{user.username}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, f"Done for {done} user(s).", messages.SUCCESS)

    @admin.action(description="Sign out of every device")
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "sign_out")

    @admin.action(description="Lift the suspension")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "unsuspend")

    @admin.action(description="Reset two-factor authentication")
    def reset_2fa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "reset_2fa")

    @admin.action(description="Require a new password at the next sign-in")
    def require_password_change(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "require_password_change")

    @admin.action(description="Make instance admin")
    def grant_admin(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "grant_admin")

    @admin.action(description="Remove instance admin")
    def revoke_admin(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        self._each(request, queryset, "revoke_admin")

    # --- everything else goes through the actions too --------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # accounts are created by registration (they need the client's keys)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.pk != request.user.pk  # not oneself (api.md 2.26)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Every user field is read-only here: nothing to save but the sessions inline."""

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Sessions deleted in the inline are revoked (their sockets close), not just removed."""
        if formset.model is not DeviceSession:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        if formset.deleted_objects:
            actions.do_revoke_sessions(_actor(request), formset.deleted_objects)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        actions.do_admin_delete_user(_actor(request), obj.id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            actions.do_admin_delete_user(_actor(request), user.id)


@admin.register(DeviceSession)
class DeviceSessionAdmin(ModelAdmin[DeviceSession]):
    list_display = ("user", "device_name", "ip_address", "created_at", "last_activity")
    search_fields = ("user__username", "device_name")
    list_select_related = ("user",)
    ordering = ("-last_activity",)
    readonly_fields = ("user", "device_name", "ip_address", "created_at", "last_activity")
    actions = ["revoke"]

    @admin.action(description="Revoke selected sessions")
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeviceSession]) -> None:
        ended = actions.do_revoke_sessions(_actor(request), queryset)
        self.message_user(request, f"Revoked {ended} session(s).", messages.SUCCESS)

    # Deleting a session row is revoking it: its sockets close too.
    def delete_model(self, request: HttpRequest, obj: DeviceSession) -> None:
        actions.do_revoke_sessions(_actor(request), [obj])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DeviceSession]) -> None:
        actions.do_revoke_sessions(_actor(request), queryset)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InstanceAuditEntry)
class InstanceAuditEntryAdmin(ReadOnlyAdmin[InstanceAuditEntry]):
    list_display = (
        "created_at",
        "actor_name",
        "via",
        "action",
        "target_type",
        "target_label",
        "reason",
    )
    list_filter = ("action", "via", "target_type")
    search_fields = ("actor_name", "action", "target_label", "=target_id", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fields = (
        "created_at",
        "actor",
        "actor_name",
        "via",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "reason",
        "details",
    )
