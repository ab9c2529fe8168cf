"""Content negotiation of the REST API (REST_FRAMEWORK's DEFAULT_CONTENT_NEGOTIATION_CLASS)."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JsonAlways(DefaultContentNegotiation):
    """A view with one renderer (every API view: JSON) answers with it whatever the request's
    Accept header says, as the original does: DRF's negotiation parsed that header on every
    request to choose among that one renderer (and answered 406 when it did not list JSON).
    Views with several (the schema's JSON and YAML) negotiate as DRF does."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        choices = list(renderers)
        if len(choices) == 1:
            return choices[0], str(choices[0].media_type)
        chosen: tuple[BaseRenderer, str] = super().select_renderer(request, choices, format_suffix)
        return chosen
