"""Channel routes (api.md 2.7), categories (2.8) and permission overwrites (2.11)."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import categories, channels, overwrites
from chat.api.dms import GroupMembersView
from chat.api.schemas import (
    CreateCategoryBody,
    CreateChannelBody,
    OverwriteBody,
    RenameChannelBody,
    ReorderCategoriesBody,
    ReorderChannelsBody,
    SetCategoryBody,
    UpdateCategoryBody,
)
from chat.shapes import category_shape, channel_member_shape, channel_shape, overwrite_shape
from haven_site.api.parsing import parse_body
from haven_site.api.views import ApiView


class ServerChannelsView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        return Response([channel_shape(c) for c in channels.list_channels(self.user, server_id)])

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, CreateChannelBody)
        channel = channels.do_create_channel(
            self.user,
            server_id,
            channels.NewChannel(
                encrypted_meta=body["encrypted_meta"],
                channel_type=body["channel_type"],
                position=body["position"],
                category_id=body["category_id"],
                is_private=body["is_private"],
            ),
        )
        return Response(channel_shape(channel))


class ReorderChannelsView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, ReorderChannelsBody)
        channels.do_reorder_channels(self.user, server_id, body["order"])
        return Response({"message": "Channels reordered"})


class ChannelView(ApiView):
    def put(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, RenameChannelBody)
        channel = channels.do_rename_channel(self.user, channel_id, body["encrypted_meta"])
        return Response(channel_shape(channel))

    def delete(self, request: Request, channel_id: uuid.UUID) -> Response:
        channels.do_delete_channel(self.user, channel_id)
        return Response({"message": "Channel deleted"})


class JoinChannelView(ApiView):
    def post(self, request: Request, channel_id: uuid.UUID) -> Response:
        channels.do_join_channel(self.user, channel_id)
        return Response({"message": "Joined channel"})


class ChannelMembersView(GroupMembersView):
    """GET lists a channel's members (api.md 2.7); POST, inherited, adds a member to a group DM
    (2.12): the two routes share one path."""

    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        rows = channels.channel_members(self.user, channel_id)
        return Response([channel_member_shape(m) for m in rows])


class ChannelCategoryView(ApiView):
    def put(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, SetCategoryBody)
        channel = channels.do_set_channel_category(self.user, channel_id, body["category_id"])
        return Response(channel_shape(channel))


class CategoriesView(ApiView):
    def get(self, request: Request, server_id: uuid.UUID) -> Response:
        found = categories.list_categories(self.user, server_id)
        return Response([category_shape(c) for c in found])

    def post(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, CreateCategoryBody)
        category = categories.do_create_category(
            self.user, server_id, body["name"], body["position"]
        )
        return Response(category_shape(category))


class ReorderCategoriesView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID) -> Response:
        body = parse_body(request, ReorderCategoriesBody)
        categories.do_reorder_categories(self.user, server_id, body["order"])
        return Response({"message": "Categories reordered"})


class CategoryView(ApiView):
    def put(self, request: Request, server_id: uuid.UUID, category_id: uuid.UUID) -> Response:
        body = parse_body(request, UpdateCategoryBody)
        category = categories.do_update_category(
            self.user, server_id, category_id, name=body["name"], position=body["position"]
        )
        return Response(category_shape(category))

    def delete(self, request: Request, server_id: uuid.UUID, category_id: uuid.UUID) -> Response:
        categories.do_delete_category(self.user, server_id, category_id)
        return Response({"message": "Category deleted"})


class OverwritesView(ApiView):
    def get(self, request: Request, channel_id: uuid.UUID) -> Response:
        rows = overwrites.list_overwrites(self.user, channel_id)
        return Response([overwrite_shape(o) for o in rows])

    def put(self, request: Request, channel_id: uuid.UUID) -> Response:
        body = parse_body(request, OverwriteBody)
        overwrite = overwrites.do_set_overwrite(
            self.user,
            channel_id,
            target_type=body["target_type"],
            target_id=body["target_id"],
            allow_bits=body["allow_bits"],
            deny_bits=body["deny_bits"],
        )
        return Response(overwrite_shape(overwrite))


class OverwriteView(ApiView):
    def delete(
        self, request: Request, channel_id: uuid.UUID, target_type: str, target_id: uuid.UUID
    ) -> Response:
        overwrites.do_delete_overwrite(self.user, channel_id, target_type, target_id)
        return Response({"message": "Overwrite removed"})
