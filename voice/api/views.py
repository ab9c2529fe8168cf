"""Voice routes (api.md 2.20)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from haven_site.api.fields import Bool
from haven_site.api.parsing import Body, parse_body
from haven_site.api.views import ApiView
from voice import actions


class MuteBody(Body):
    muted = Bool()


class DeafenBody(Body):
    deafened = Bool()


class JoinView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(actions.do_join(self.user, channel_id))


class TokenView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(actions.do_renew_token(self.user, channel_id))


class LeaveView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        actions.do_leave(self.user, channel_id)
        return Response({"ok": True})


class ParticipantsView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(actions.participants(self.user, channel_id))


class MuteView(ApiView):
    def put(self, request: Request, channel_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, MuteBody)
        actions.do_moderate(self.user, channel_id, user_id, muted=body["muted"])
        return Response({"ok": True})


class DeafenView(ApiView):
    def put(self, request: Request, channel_id: uuid.UUID, user_id: uuid.UUID) -> Response:
        body = parse_body(request, DeafenBody)
        actions.do_moderate(self.user, channel_id, user_id, deafened=body["deafened"])
        return Response({"ok": True})
