"""Who a gateway connection acts as: the token of its handshake, and its user loaded fresh for
every action as long as its login session lives (``GatewayConsumer.act``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from accounts.authentication import live_user, user_for_token
from accounts.models import User
from haven_site import epochs, ratelimit
from haven_site.api.errors import RateLimited, Unauthorized

RATE_LIMITED = "Rate limit exceeded — slow down"  # websocket.md 8

MISSING_TOKEN = "Failed to deserialize query string: missing field `token`"  # noqa: S105


class SessionEnded(Unauthorized):
    """The connection's login session ended (or its user is gone): the socket is closed."""

    def __init__(self) -> None:
        super().__init__("Invalid token")


def query_token(scope: dict[str, Any]) -> str | None:
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    values = parse_qs(query, keep_blank_values=True).get("token")
    return values[0] if values else None


def authenticate(token: str) -> tuple[uuid.UUID, str, uuid.UUID]:
    """The handshake's token: (user id, display name, login session). Raises ``ApiError``."""
    user, claims = user_for_token(token)
    return user.id, user.display_name or user.username, claims.session_id


def user_of(user_id: uuid.UUID, login_session: uuid.UUID) -> User:
    """The connection's user, fresh (names change), as long as its login session lives: the same
    one-query check as authenticating a request."""
    user = live_user(user_id, login_session)
    if user is None:
        raise SessionEnded
    return user


def itself(user: User) -> User:
    return user


def run_as(
    user_id: uuid.UUID,
    login_session: uuid.UUID,
    action: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    limit: str | None = None,
) -> Any:
    """``action(user, *args, **kwargs)`` as the connection's user (in a worker thread). With
    ``limit`` (a gateway operation, ``ratelimit.WS_OPS``) the attempt is counted first, every
    attempt (``RateLimited`` when over), in the Redis round trip that reads the cache epochs."""
    known_epochs = None
    if limit is not None:
        allowed, known_epochs = ratelimit.count_ws_op(limit, user_id)
        if not allowed:
            raise RateLimited(RATE_LIMITED)
    epochs.begin(known_epochs)  # one unit of work: the cache epochs are read once for it
    try:
        return action(user_of(user_id, login_session), *args, **kwargs)
    finally:
        epochs.end()
