"""Link previews (api.md 2.22) and the Giphy proxy (2.25)."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from chat.actions import gifs, link_preview
from haven_site.api.errors import BadRequest
from haven_site.api.parsing import query_int, query_str
from haven_site.api.views import ApiView


class LinkPreviewView(ApiView):
    def get(self, request: Request) -> Response:
        url = query_str(request.query_params, "url", required=True)
        assert url is not None
        return Response(link_preview.get_preview(self.user.id, url))


class GifSearchView(ApiView):
    def get(self, request: Request) -> Response:
        query = query_str(request.query_params, "q", required=True)
        assert query is not None
        offset = query_int(request.query_params, "offset", 0)
        if offset < 0:
            raise BadRequest("Failed to deserialize query string: offset: invalid digit found")
        return Response(gifs.search(query, offset))


class GifTrendingView(ApiView):
    def get(self, request: Request) -> Response:
        return Response(gifs.trending())
