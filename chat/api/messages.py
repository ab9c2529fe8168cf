"""Message routes (api.md 2.9): history, the REST send fallback, bulk delete, reactions, pins."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import messages, pins, reactions
from chat.shapes import message_shape, reaction_groups
from haven_site.api.fields import B64, Bool, ListOf, Str, Timestamp, Uuid
from haven_site.api.parsing import Body, parse_body, query_count, query_timestamp
from haven_site.api.views import ApiView


class SendBody(Body):
    channel_id = Uuid()  # required by the spec, value ignored: the path wins
    sender_token = B64()
    encrypted_body = B64()
    expires_at = Timestamp(required=False, allow_null=True)
    has_attachments = Bool()
    reply_to_id = Uuid(required=False, allow_null=True)
    # Additions (docs/api-messages.md): uploads to link, and an idempotency key.
    attachment_ids = ListOf(child=Uuid(), required=False, allow_null=True)
    nonce = Str(required=False, allow_null=True)


class BulkDeleteBody(Body):
    message_ids = ListOf(child=Uuid())


class ChannelMessagesView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        before = query_timestamp(request.query_params, "before")
        limit = query_count(request.query_params, "limit", messages.HISTORY_DEFAULT)
        page = messages.history(self.user, channel_id, before=before, limit=limit)
        return Response([message_shape(m) for m in page])

    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, SendBody)
        message = messages.do_send_message(
            self.user,
            channel_id,
            sender_token=body["sender_token"],
            encrypted_body=body["encrypted_body"],
            expires_at=body["expires_at"],
            attachment_ids=body["attachment_ids"],
            reply_to_id=body["reply_to_id"],
            nonce=body["nonce"],
            has_attachments=body["has_attachments"],
            via_websocket=False,
        )
        return Response(message_shape(message))


class BulkDeleteView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, BulkDeleteBody)
        deleted = messages.do_bulk_delete(self.user, channel_id, body["message_ids"])
        return Response({"deleted": deleted})


class ChannelReactionsView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response(reaction_groups(reactions.channel_reactions(self.user, channel_id)))


class MessageReactionsView(ApiView):
    def get(self, request: Request, message_id: uuid.UUID) -> Response:
        return Response(reaction_groups(reactions.message_reactions(self.user, message_id)))


class PinsView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response([message_shape(m) for m in pins.pinned_messages(self.user, channel_id)])


class PinIdsView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        return Response([str(i) for i in pins.pinned_ids(self.user, channel_id)])
