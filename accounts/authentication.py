"""Bearer authentication for the REST API (api.md 1.2), shared with the WebSocket handshake."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import User
from accounts.tokens import AccessClaims, decode_access_token
from haven_site.api.errors import Unauthorized


def user_for_token(token: str) -> tuple[User, AccessClaims]:
    """The live user behind an access token, in one query that also checks its session.

    A token whose session was ended (logout, password change, revocation, token reuse), whose
    user was deleted, or whose user is suspended is refused as ``Invalid token``.
    """
    claims = decode_access_token(token)
    user = User.objects.signed_in(claims.user_id, claims.session_id)
    if user is None:
        raise Unauthorized("Invalid token")
    user.session_id = claims.session_id  # type: ignore[attr-defined]
    return user, claims


class BearerAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any]:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header or not header.isascii():
            raise Unauthorized("Missing authorization header")
        if not header.startswith("Bearer "):
            raise Unauthorized("Invalid authorization format")
        return user_for_token(header[len("Bearer ") :])

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
