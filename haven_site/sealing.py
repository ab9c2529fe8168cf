"""Small secrets sealed at rest with AES-256-GCM under a purpose-derived key (haven_site.keys)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven_site.keys import derived_key

NONCE_BYTES = 12


def seal(purpose: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(derived_key(purpose)).encrypt(nonce, plaintext, purpose.encode())


def unseal(purpose: str, sealed: bytes) -> bytes:
    nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    return AESGCM(derived_key(purpose)).decrypt(nonce, ciphertext, purpose.encode())
