"""DM, group DM, DM request and DM privacy routes (api.md 2.12)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import dms
from chat.shapes import channel_shape
from haven_site.api.fields import B64, Choice, ListOf, Uuid
from haven_site.api.parsing import Body, parse_body
from haven_site.api.views import ApiView


class DmPrivacyBody(Body):
    dm_privacy = Choice("everyone", "friends_only", "server_members")


class OpenDmBody(Body):
    target_user_id = Uuid()
    encrypted_meta = B64()


class OpenGroupBody(Body):
    member_ids = ListOf(child=Uuid())
    encrypted_meta = B64()


class AddMemberBody(Body):
    user_id = Uuid()


class AnswerBody(Body):
    action = Choice("accept", "decline")


class DmPrivacyView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, DmPrivacyBody)
        return Response({"dm_privacy": dms.do_set_dm_privacy(self.user, body["dm_privacy"])})


class DmView(ApiView):
    def get(self, request: Request) -> Response:
        return Response([channel_shape(c) for c in dms.dm_channels(self.user)])

    def post(self, request: Request) -> Response:
        body = parse_body(request, OpenDmBody)
        channel = dms.do_open_dm(self.user, body["target_user_id"], body["encrypted_meta"])
        return Response(channel_shape(channel))


class GroupDmView(ApiView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, OpenGroupBody)
        channel = dms.do_open_group(self.user, body["member_ids"], body["encrypted_meta"])
        return Response(channel_shape(channel))


class GroupMembersView(ApiView):
    """POST adds to a group DM; routed through ``chat.api.channels.ChannelMembersView``, which
    adds the same path's GET (api.md 2.7)."""

    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, AddMemberBody)
        dms.do_add_group_member(self.user, channel_id, body["user_id"])
        return Response({"added": True})


class LeaveGroupView(ApiView):
    def delete(self, request: Request, channel_id: uuid.UUID) -> Response:
        dms.do_leave_group(self.user, channel_id)
        return Response({"message": "Left channel"})


class DmRequestsView(ApiView):
    def get(self, request: Request) -> Response:
        return Response([channel_shape(c) for c in dms.dm_requests(self.user)])


class DmRequestView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, AnswerBody)
        return Response(
            {"message": dms.do_answer_dm_request(self.user, channel_id, body["action"])}
        )
