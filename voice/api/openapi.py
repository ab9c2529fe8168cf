"""The OpenAPI description of the voice routes (api.md 2.20; haven_site.api.openapi)."""

from __future__ import annotations

from accounts.api.openapi import UserSummary
from haven_site.api.fields import Bool
from haven_site.api.openapi import OK_TRUE, STRING, UUID, annotate, obj, op
from voice.api import views


class VoiceParticipant(UserSummary):
    server_muted = Bool()
    server_deafened = Bool()


GRANT = obj({"token": STRING, "url": STRING, "channel_id": UUID})

annotate(
    {
        views.JoinView: {"post": op(GRANT)},
        views.TokenView: {"post": op(GRANT)},
        views.LeaveView: {"post": op(OK_TRUE)},
        views.ParticipantsView: {"get": op(VoiceParticipant(many=True))},
        views.MuteView: {"put": op(OK_TRUE, body=views.MuteBody)},
        views.DeafenView: {"put": op(OK_TRUE, body=views.DeafenBody)},
    }
)
