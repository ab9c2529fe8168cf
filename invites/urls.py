"""REST routes of the invites app (api.md 2.13-2.14)."""

from django.urls import path

from invites.api import registration

urlpatterns = [
    path("auth/invite-required", registration.InviteRequiredView.as_view()),
    path("registration-invites", registration.MyInvitesView.as_view()),
    path("admin/registration-invites", registration.AdminInvitesView.as_view()),
    path("admin/registration-invites/<id:invite_id>", registration.AdminInviteView.as_view()),
]
