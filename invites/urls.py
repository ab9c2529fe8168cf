"""REST routes of the invites app (api.md 2.13-2.14)."""

from django.urls import path

from invites.api import registration, server_invites

urlpatterns = [
    path("auth/invite-required", registration.InviteRequiredView.as_view()),
    path("registration-invites", registration.MyInvitesView.as_view()),
    path("admin/registration-invites", registration.AdminInvitesView.as_view()),
    path("admin/registration-invites/<id:invite_id>", registration.AdminInviteView.as_view()),
    path("servers/<id:server_id>/invites", server_invites.ServerInvitesView.as_view()),
    path(
        "servers/<id:server_id>/invites/<id:invite_id>", server_invites.ServerInviteView.as_view()
    ),
    path("invites/<str:code>/join", server_invites.JoinView.as_view()),
]
