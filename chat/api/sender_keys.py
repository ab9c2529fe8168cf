"""Sender-key routes (api.md 2.9a) and read states (2.10)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import read_states, sender_keys
from chat.shapes import sender_key_shape
from haven_site.api.encoding import b64, ts
from haven_site.api.fields import B64, ListOf, Uuid
from haven_site.api.parsing import Body, parse_body
from haven_site.api.views import ApiView


class DistributionBody(Body):
    to_user_id = Uuid()
    distribution_id = Uuid()
    encrypted_skdm = B64()


class DistributeBody(Body):
    distributions = ListOf(child=DistributionBody())


class SenderKeysView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response([sender_key_shape(d) for d in sender_keys.inbox(self.user, channel_id)])

    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, DistributeBody)
        count = sender_keys.do_distribute(self.user, channel_id, body["distributions"])
        return Response({"distributed": count})


class MemberKeysView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        keys = sender_keys.member_identity_keys(self.user, channel_id)
        return Response([{"user_id": str(u), "identity_key": b64(k)} for u, k in keys])


class ReadStateView(ApiView):
    def put(self, request: Request, channel_id: uuid.UUID) -> Response:
        state = read_states.do_mark_read(self.user, channel_id, via_websocket=False)
        return Response(
            {
                "user_id": str(self.user.id),
                "channel_id": str(channel_id),
                "last_read_at": ts(state.last_read_at),
            }
        )


class ReadStatesView(ApiView):
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "channel_id": str(row.channel_id),
                    "last_message_id": str(row.last_message_id),
                    "last_message_at": ts(row.last_message_at),
                    "unread_count": row.unread_count,
                }
                for row in read_states.read_states(self.user)
            ]
        )
