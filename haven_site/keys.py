"""Key derivation: every purpose gets its own key, derived from the operator's secrets."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf(material: bytes, label: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 with a purpose label, so no two uses of a secret share a key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label).derive(material)


@lru_cache(maxsize=64)
def derived_key(label: str, length: int = 32) -> bytes:
    """A key for one purpose (``label``), derived from JWT_SECRET and STORAGE_ENCRYPTION_KEY."""
    from django.conf import settings

    material = settings.HAVEN.jwt_secret.encode() + settings.HAVEN.storage_encryption_key
    return hkdf(material, f"haven/{label}/v1".encode(), length)
