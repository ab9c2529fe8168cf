"""User routes (api.md 2.4): search, profiles, blocks, profile keys. Avatar and banner uploads
live with the file storage; the profile card is chat's (``chat.api.profiles``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions import blocks, profiles
from accounts.shapes import user_public, user_summary
from haven_site.api.encoding import b64, ts
from haven_site.api.fields import B64, ListOf, Str, Uuid
from haven_site.api.parsing import Body, offset_page, parse_body, query_str, read_json
from haven_site.api.views import ApiView


class ProfileBody(Body):
    display_name = Str(required=False, allow_null=True)
    about_me = Str(required=False, allow_null=True)
    custom_status = Str(required=False, allow_null=True)
    custom_status_emoji = Str(required=False, allow_null=True)
    encrypted_profile = B64(required=False, allow_null=True)


class ProfileKeyEntry(Body):
    to_user_id = Uuid()
    encrypted_profile_key = B64()


class ProfileKeysBody(Body):
    distributions = ListOf(child=ProfileKeyEntry())


def _null() -> JsonResponse:
    """The literal JSON ``null`` body of the block routes."""
    return JsonResponse(None, safe=False)


class UserSearchView(ApiView):
    def get(self, request: Request) -> Response:
        username = query_str(request.query_params, "username", required=True) or ""
        return Response(user_public(profiles.find_user(username)))


class MyProfileView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, ProfileBody)
        sent: dict[str, Any] = read_json(request)  # which keys the client named at all
        changes = {name: value for name, value in body.items() if name in sent}
        return Response(user_public(profiles.do_update_profile(self.user, changes)))


class BlockView(ApiView):
    def post(self, request: Request, user_id: uuid.UUID) -> JsonResponse:
        blocks.do_block(self.user, user_id)
        return _null()

    def delete(self, request: Request, user_id: uuid.UUID) -> JsonResponse:
        blocks.do_unblock(self.user, user_id)
        return _null()


class BlockedUsersView(ApiView):
    def get(self, request: Request) -> Response:
        limit, offset = offset_page(request.query_params)
        return Response(
            [
                {**user_summary(row.blocked), "blocked_at": ts(row.created_at)}
                for row in blocks.blocked_users(self.user, limit, offset)
            ]
        )


class ProfileKeysView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, ProfileKeysBody)
        count = profiles.do_distribute_profile_keys(self.user, body["distributions"])
        return Response({"distributed": count})


class ProfileKeyView(ApiView):
    def get(self, request: Request, user_id: uuid.UUID) -> Response:
        key = profiles.profile_key(self.user, user_id)
        return Response({"from_user_id": str(user_id), "encrypted_profile_key": b64(key)})
