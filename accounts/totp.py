"""TOTP two-factor authentication (operations.md 2.14) with pyotp: SHA-1, 6 digits, 30 s, one
step of skew. Secrets are sealed at rest, and a code cannot be replayed."""

from __future__ import annotations

import hmac
import time

import pyotp

from haven_site.sealing import seal, unseal

ISSUER = "Haven"
PURPOSE = "totp-secret"
STEP_SECONDS = 30


def new_secret() -> str:
    """160 random bits as RFC 4648 base32 without padding (32 characters)."""
    return pyotp.random_base32(length=32)


def seal_secret(secret: str) -> bytes:
    return seal(PURPOSE, secret.encode())


def open_secret(sealed: bytes | memoryview) -> str:
    return unseal(PURPOSE, bytes(sealed)).decode()


def provisioning_uri(secret: str, username: str) -> str:
    return f"otpauth://totp/{ISSUER}:{username}?secret={secret}&issuer={ISSUER}"


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (previous, current or next) whose code equals ``code``, compared in
    constant time; None when no step matches."""
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None
