"""The base class of every REST view, and the path converter for ``{..._id}`` segments."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.urls import register_converter
from rest_framework.request import Request
from rest_framework.views import APIView

from haven_site.api.errors import BadRequest
from haven_site.api.fields import NUL_MESSAGE, has_nul, parse_uuid

if TYPE_CHECKING:
    from rest_framework.authentication import BaseAuthentication

    from accounts.models import User


class InvalidId(str):
    """A path segment that should have been a UUID; reported as 400 after authentication."""

    __slots__ = ()


class IdConverter:
    """Matches any segment so that a malformed id answers 400 (api.md 1.3), not 404."""

    regex = "[^/]+"

    def to_python(self, value: str) -> uuid.UUID | InvalidId:
        return parse_uuid(value) or InvalidId(value)

    def to_url(self, value: uuid.UUID | str) -> str:
        return str(value)


register_converter(IdConverter, "id")


class ApiView(APIView):
    """Authenticated by default; set ``public = True`` for the spec's anonymous routes."""

    public = False

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [] if self.public else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [] if self.public else list(super().get_permissions())

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        for name, value in kwargs.items():
            if isinstance(value, InvalidId):
                raise BadRequest(
                    f"Invalid URL: Cannot parse `{name}` with value `{value}` to a `Uuid`"
                )
            if isinstance(value, str) and has_nul(value):
                raise BadRequest(f"Invalid URL: `{name}`: {NUL_MESSAGE}")

    @property
    def user(self) -> User:
        return self.request.user  # type: ignore[return-value]
