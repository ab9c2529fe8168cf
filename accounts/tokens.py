"""Access tokens: HS256 JWTs with the spec's claims (sub, exp, iat, jti) plus ``sid``, the
login session they belong to, so that ending a session ends its access tokens too.

Encoded and verified with PyJWT as djangorestframework-simplejwt's token backend does, with its
settings (``SIMPLE_JWT``: key, HS256, lifetime, 60 s leeway); simplejwt itself is not imported
here, because its settings module imports ``django.test`` (and with it unittest, some 10 MB in
every process).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from django.conf import settings

from haven_site.api.errors import Unauthorized
from haven_site.api.fields import parse_uuid


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID


def _config(name: str) -> Any:
    return settings.SIMPLE_JWT[name]


def _leeway() -> float:
    leeway = _config("LEEWAY") or 0
    return leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)


def issue_access_token(user_id: uuid.UUID, session_id: uuid.UUID) -> str:
    now = int(datetime.now(UTC).timestamp())
    lifetime = int(_config("ACCESS_TOKEN_LIFETIME").total_seconds())
    payload = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        "sid": str(session_id),
    }
    return jwt.encode(payload, _config("SIGNING_KEY"), algorithm=_config("ALGORITHM"))


# Tokens already verified by this process, with their expiry: a client presents the same token
# on every request for hours, and checking its signature again costs more than the rest of the
# authentication. Only valid tokens get in; expiry is checked on every use, as PyJWT would.
_verified: dict[str, tuple[AccessClaims, int]] = {}
VERIFIED_MAX = 20_000


def decode_access_token(token: str) -> AccessClaims:
    """Verify a token; raises 401 ``Invalid token`` or ``Token expired`` as the spec words them."""
    found = _verified.get(token)
    if found is not None:
        claims, expires = found
        if expires <= time.time() - _leeway():
            raise Unauthorized("Token expired")
        return claims
    claims, expires = _verify(token)
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[token] = (claims, expires)
    return claims


def _verify(token: str) -> tuple[AccessClaims, int]:
    try:
        payload = jwt.decode(
            token,
            _config("SIGNING_KEY"),
            algorithms=[_config("ALGORITHM")],
            leeway=_leeway(),
            options={"verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Token expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("Invalid token") from None
    user_id = parse_uuid(str(payload.get("sub", "")))
    session_id = parse_uuid(str(payload.get("sid", "")))
    if user_id is None or session_id is None or "exp" not in payload:
        raise Unauthorized("Invalid token")
    return AccessClaims(user_id=user_id, session_id=session_id), int(payload["exp"])
