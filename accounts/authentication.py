"""Bearer authentication for the REST API (api.md 1.2), shared with the WebSocket handshake."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import User
from accounts.tokens import AccessClaims, decode_access_token
from haven_site.api.errors import Unauthorized
from haven_site.epochs import EpochCache, copy_row

# The user behind a (user, login session) pair, kept per process until the users or
# device_sessions table changes anywhere (haven_site.epochs): a revoked session is refused at
# once, on every process. Each caller gets its own copy of the row.
_live_users = EpochCache("auth", copy=copy_row)


def live_user(user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
    """``User.objects.signed_in``: the user, if the login session still lives and the user is
    not suspended. The row is read in one query, or none while nothing changed; the suspension
    is judged at every use, since it may run out while the row stays the same."""

    def load() -> User | None:
        return User.objects.filter(id=user_id, device_sessions__id=session_id).first()

    user = _live_users.get((user_id, session_id), load)
    return None if user is None or user.is_suspended else user


def user_for_token(token: str) -> tuple[User, AccessClaims]:
    """The live user behind an access token, in one query that also checks its session.

    A token whose session was ended (logout, password change, revocation, token reuse), whose
    user was deleted, or whose user is suspended is refused as ``Invalid token``.
    """
    claims = decode_access_token(token)
    user = live_user(claims.user_id, claims.session_id)
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
