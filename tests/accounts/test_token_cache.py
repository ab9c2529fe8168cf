"""Verified access tokens are remembered per process (accounts.tokens), and still expire."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from django.conf import settings

from accounts import tokens
from haven_site.api.errors import Unauthorized


def token(expires_in: int) -> str:
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "iat": now, "exp": now + expires_in, "jti": "x",
               "sid": str(uuid.uuid4())}  # fmt: skip
    key = settings.SIMPLE_JWT["SIGNING_KEY"]
    assert isinstance(key, str)
    return jwt.encode(payload, key, algorithm="HS256")


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    presented = token(expires_in=5)
    first = tokens.decode_access_token(presented)
    assert presented in tokens._verified
    assert tokens.decode_access_token(presented) == first
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 5 + 61)  # past exp and the 60 s leeway
    with pytest.raises(Unauthorized, match="Token expired"):
        tokens.decode_access_token(presented)


def test_only_valid_tokens_are_remembered() -> None:
    forged = jwt.encode({"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}, "x" * 32)
    for presented in (forged, token(expires_in=-120), "not a token"):
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(presented)
        assert presented not in tokens._verified


def test_the_tokens_are_those_simplejwt_made() -> None:
    """Issued and read with PyJWT as simplejwt's backend does (simplejwt is not imported at run
    time): its backend reads ours, ours reads its."""
    from rest_framework_simplejwt.state import token_backend

    user, session = uuid.uuid4(), uuid.uuid4()
    ours = tokens.issue_access_token(user, session)
    # simplejwt's stubs type the token as a Token object; decode takes the encoded text.
    assert token_backend.decode(ours)["sid"] == str(session)  # type: ignore[arg-type]
    now = int(time.time())
    theirs = token_backend.encode({"sub": str(user), "sid": str(session), "exp": now + 60})
    assert tokens.decode_access_token(theirs) == tokens.AccessClaims(user, session)
