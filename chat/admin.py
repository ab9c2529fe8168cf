"""Django admin for the server domain: servers (take down, transfer), and read-only views of
channels, categories, members, roles, bans and servers' audit logs.

Servers and channels show by name where their metadata is readable (chat.meta). Message bodies
are ciphertext and are not shown anywhere here. Nothing of a server is edited directly: changes
go through actions, so that clients get their events and the instance audit log its entry
(docs/moderation.md); members change servers through the app.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from accounts.actions.admin import MAX_REASON, find_user
from accounts.actions.instance_audit import Actor
from accounts.admin import ReadOnlyAdmin
from chat import admin_reports  # noqa: F401 - registers the report queue
from chat.actions.server_admin import do_admin_delete_server, do_transfer_ownership
from chat.meta import label
from chat.models import (
    AuditLogEntry,
    Ban,
    Channel,
    ChannelCategory,
    Message,
    Role,
    Server,
    ServerMember,
)
from haven_site.api.errors import ApiError

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _ServerFigures(TypedDict):
    _members: int
    _channels: int
    _last_activity: datetime | None


def _count(model: Any, **match: Any) -> Coalesce:
    rows = model.objects.filter(**match).order_by().values("server_id")
    return Coalesce(
        Subquery(rows.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0
    )


class ServerActionForm(forms.Form):
    op = forms.ChoiceField(choices=[("delete", "delete"), ("transfer", "transfer")])
    reason = forms.CharField(max_length=MAX_REASON)
    new_owner = forms.CharField(required=False, max_length=64)
    confirm = forms.BooleanField(required=False)


@admin.register(Server)
class ServerAdmin(ReadOnlyAdmin[Server]):
    list_display = ("name", "owner", "member_count", "channel_count", "created_at", "last_activity")
    list_select_related = ("owner",)
    search_fields = ("=id", "owner__username")
    fields = (
        "name",
        "id",
        "owner",
        "member_count",
        "channel_count",
        "created_at",
        "last_activity",
        "has_icon",
    )
    readonly_fields = fields
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Server]:
        newest = Message.objects.filter(channel__server=OuterRef("pk")).order_by("-timestamp")
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=_count(ServerMember, server=OuterRef("pk")),
                _channels=_count(Channel, server=OuterRef("pk")),
                _last_activity=Subquery(newest.values("timestamp")[:1]),
            )
        )

    @admin.display(description="name")
    def name(self, server: Server) -> str:
        return label(server.encrypted_meta, server.id)

    @admin.display(description="members", ordering="_members")
    def member_count(self, server: WithAnnotations[Server, _ServerFigures]) -> int:
        return server._members

    @admin.display(description="channels", ordering="_channels")
    def channel_count(self, server: WithAnnotations[Server, _ServerFigures]) -> int:
        return server._channels

    @admin.display(description="last message", ordering="_last_activity")
    def last_activity(self, server: WithAnnotations[Server, _ServerFigures]) -> datetime | None:
        return server._last_activity

    # --- take down / transfer (templates/admin/chat/server/change_form.html) ---------------------

    def get_urls(self) -> list[URLPattern]:
        act = self.admin_site.admin_view(self.act_view)
        return [path("<path:object_id>/act/", act, name="chat_server_act"), *super().get_urls()]

    def act_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        server = self.get_object(request, object_id)
        if server is None or request.method != "POST":
            raise Http404
        page = HttpResponseRedirect(reverse("admin:chat_server_change", args=[server.pk]))
        form = ServerActionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, f"Nothing done: {form.errors.as_text()}", messages.ERROR)
            return page
        data = form.cleaned_data
        name = label(server.encrypted_meta, server.id)
        actor = Actor.admin(request.user)
        try:
            if data["op"] == "delete":
                if not data["confirm"]:
                    self.message_user(request, "Tick the box to confirm.", messages.ERROR)
                    return page
                do_admin_delete_server(actor, server.id, reason=data["reason"])
                self.message_user(request, f"Deleted the server {name}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:chat_server_changelist"))
            owner = find_user(data["new_owner"] or "")
            do_transfer_ownership(actor, server.id, owner, reason=data["reason"])
        except ApiError as error:
            self.message_user(request, error.message, messages.ERROR)
            return page
        self.message_user(request, f"{owner.username} now owns {name}.", messages.SUCCESS)
        return page


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin[Channel]):
    list_display = ("name", "server_name", "channel_type", "position", "is_private", "created_at")
    list_filter = ("channel_type", "is_private")
    list_select_related = ("server",)
    search_fields = ("=id", "=server__id")
    fields = (
        "name",
        "id",
        "server",
        "channel_type",
        "category",
        "position",
        "is_private",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("server", "position")

    @admin.display(description="name")
    def name(self, channel: Channel) -> str:
        return label(channel.encrypted_meta, channel.id)

    @admin.display(description="server")
    def server_name(self, channel: Channel) -> str:
        server = channel.server
        return label(server.encrypted_meta, server.id) if server else "(direct message)"


@admin.register(ChannelCategory)
class ChannelCategoryAdmin(ReadOnlyAdmin[ChannelCategory]):
    list_display = ("name", "server", "position", "created_at")
    list_select_related = ("server",)
    search_fields = ("name", "=server__id")


@admin.register(ServerMember)
class ServerMemberAdmin(ReadOnlyAdmin[ServerMember]):
    list_display = ("user", "server", "nickname", "joined_at", "timed_out_until")
    list_select_related = ("user", "server")
    search_fields = ("user__username", "nickname", "=server__id")
    date_hierarchy = "joined_at"


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin[Role]):
    list_display = ("name", "server", "position", "permissions", "is_default")
    list_select_related = ("server",)
    search_fields = ("name", "=server__id")


@admin.register(Ban)
class BanAdmin(ReadOnlyAdmin[Ban]):
    list_display = ("user", "server", "banned_by", "reason", "created_at")
    list_select_related = ("user", "server", "banned_by")
    search_fields = ("user__username", "=server__id", "reason")


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin[AuditLogEntry]):
    list_display = ("created_at", "server", "actor", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    list_select_related = ("server", "actor")
    search_fields = ("action", "actor__username", "=server__id", "=target_id", "reason")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
