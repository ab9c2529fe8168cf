"""Avatar and banner routes (api.md 2.4). Uploads are raw bodies; downloads are public."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions import images
from accounts.shapes import user_public
from haven_site.api.views import ApiView
from haven_site.media import image_response, read_body

ONE_HOUR = 3600


class AvatarUploadView(ApiView):
    def post(self, request: Request) -> Response:
        user = images.do_set_avatar(self.user, read_body(request, images.AVATAR_LIMIT))
        return Response(user_public(user))


class BannerUploadView(ApiView):
    def post(self, request: Request) -> Response:
        user = images.do_set_banner(self.user, read_body(request, images.BANNER_LIMIT))
        return Response(user_public(user))


class AvatarView(ApiView):
    public = True

    def get(self, request: Request, user_id: uuid.UUID) -> HttpResponse:
        key = images.check_avatar(user_id)
        return image_response(key, missing="Avatar file not found", max_age=ONE_HOUR)


class BannerView(ApiView):
    public = True

    def get(self, request: Request, user_id: uuid.UUID) -> HttpResponse:
        key = images.check_banner(user_id)
        return image_response(key, missing="Banner file not found", max_age=ONE_HOUR)
