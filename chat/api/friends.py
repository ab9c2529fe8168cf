"""Friend routes (api.md 2.12)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import friends
from chat.shapes import friend_shape
from haven_site.api.fields import Str
from haven_site.api.parsing import Body, offset_page, parse_body
from haven_site.api.views import ApiView


class FriendRequestBody(Body):
    username = Str()


class FriendsView(ApiView):
    def get(self, request: Request) -> Response:
        limit, offset = offset_page(request.query_params)
        rows = friends.friendships(self.user, limit, offset)
        return Response([friend_shape(f, self.user.id) for f in rows])


class FriendRequestView(ApiView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, FriendRequestBody)
        result = friends.do_send_request(self.user, body["username"])
        shape = friend_shape(result.friendship, self.user.id)
        shape["is_incoming"] = False  # the spec's answer, auto-accepted requests included
        return Response(shape)


class AcceptFriendView(ApiView):
    def post(self, request: Request, friendship_id: uuid.UUID) -> Response:
        return Response(friend_shape(friends.do_accept(self.user, friendship_id), self.user.id))


class DeclineFriendView(ApiView):
    def post(self, request: Request, friendship_id: uuid.UUID) -> Response:
        friends.do_decline(self.user, friendship_id)
        return Response({"message": "Friend request declined"})


class FriendView(ApiView):
    def delete(self, request: Request, friendship_id: uuid.UUID) -> Response:
        friends.do_remove(self.user, friendship_id)
        return Response({"message": "Friend removed"})
