"""Proof-of-work registration gate (operations.md 2.5): single-use challenges kept 300 s in the
cache (Redis when configured, so any instance can consume a challenge another one issued)."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache

CHALLENGE_TTL_SECONDS = 300


def difficulty() -> int:
    return int(settings.HAVEN.pow_difficulty)


def enabled() -> bool:
    return difficulty() > 0


def issue_challenge() -> str:
    challenge = str(uuid.uuid4())
    cache.set(f"pow:{challenge}", 1, timeout=CHALLENGE_TTL_SECONDS)
    return challenge


def consume_challenge(challenge: str) -> bool:
    """True once per issued, unexpired challenge; consumed even if the solution is then wrong."""
    return bool(cache.delete(f"pow:{challenge}"))


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solution_valid(challenge: str, nonce: str, bits: int) -> bool:
    digest = hashlib.sha256(challenge.encode() + nonce.encode()).digest()
    return leading_zero_bits(digest) >= bits


def solve(challenge: str, bits: int) -> str:
    """Find a nonce the way the reference client does (counting up); used by tests and tools."""
    counter = 0
    while not solution_valid(challenge, str(counter), bits):
        counter += 1
    return str(counter)
