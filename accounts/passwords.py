"""Argon2id passwords as plain PHC strings, in the spec's format (operations.md 2.3)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from django.conf import settings


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


def hasher() -> PasswordHasher:
    return _hasher(
        settings.ARGON2_TIME_COST, settings.ARGON2_MEMORY_COST_KIB, settings.ARGON2_PARALLELISM
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(encoded: str, password: str) -> bool:
    try:
        return hasher().verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    try:
        return hasher().check_needs_rehash(encoded)
    except InvalidHashError:
        return False


@cache
def _dummy_hash() -> str:
    return hash_password("haven-dummy-password")


def burn_verification_time(password: str) -> None:
    """Spend what a real verification costs, so an unknown username is not faster to reject."""
    verify_password(_dummy_hash(), password)
