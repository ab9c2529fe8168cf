"""REST routes of the voice app (api.md 2.20)."""

from django.urls import path

from voice.api import views

urlpatterns = [
    path("voice/<id:channel_id>/join", views.JoinView.as_view()),
    path("voice/<id:channel_id>/token", views.TokenView.as_view()),  # added by this port
    path("voice/<id:channel_id>/leave", views.LeaveView.as_view()),
    path("voice/<id:channel_id>/participants", views.ParticipantsView.as_view()),
    path("voice/<id:channel_id>/members/<id:user_id>/mute", views.MuteView.as_view()),
    path("voice/<id:channel_id>/members/<id:user_id>/deafen", views.DeafenView.as_view()),
]
