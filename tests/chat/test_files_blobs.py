"""The blob store (haven_site.blobs): names, the spec's single-shot layout, and the chunked
streaming layout's protection against tampering, truncation and reordering."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from haven_site import blobs

pytestmark = pytest.mark.usefixtures("media_root")


def test_names_are_the_specs_hmac() -> None:
    key = settings.HAVEN.storage_encryption_key
    digest = hmac.new(key, b"avatar:abc", hashlib.sha256).hexdigest()
    assert blobs.storage_key("avatar:abc") == f"{digest[:2]}/{digest[2:]}"
    assert blobs.avatar_key("abc") == blobs.storage_key("avatar:abc")
    assert blobs.banner_key("u") == blobs.storage_key("banner:u")
    assert blobs.server_icon_key("s") == blobs.storage_key("server-icon:s")
    assert blobs.emoji_key("s", "e") == blobs.storage_key("emoji:s:e")


def test_path_of_refuses_anything_but_a_key() -> None:
    for bad in ("../etc/passwd", "ab/../../x", "AB/" + "0" * 62, "a/" + "0" * 63):
        with pytest.raises(ValueError, match="storage key"):
            blobs.path_of(bad)


def test_single_shot_layout_matches_the_spec() -> None:
    key = blobs.avatar_key("u1")
    blobs.write_small(key, b"picture")
    raw = blobs.path_of(key).read_bytes()
    assert len(raw) == 12 + len(b"picture") + 16
    nonce, sealed = raw[:12], raw[12:]
    assert AESGCM(settings.HAVEN.storage_encryption_key).decrypt(nonce, sealed, None) == b"picture"
    assert blobs.read_small(key) == b"picture"


def test_a_single_shot_attachment_blob_opens_as_a_stream() -> None:
    key = blobs.attachment_key("00000000-0000-4000-8000-000000000001")
    nonce = os.urandom(12)
    legacy = nonce + AESGCM(settings.HAVEN.storage_encryption_key).encrypt(nonce, b"old", None)
    path = blobs.path_of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(legacy)
    assert b"".join(blobs.StreamReader(key).chunks()) == b"old"


def write_stream(key: str, data: bytes, chunk_size: int = 16) -> Path:
    with blobs.StreamWriter(key, chunk_size=chunk_size) as writer:
        for start in range(0, len(data), 7):
            writer.write(data[start : start + 7])
        writer.commit()
    return blobs.path_of(key)


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 100])
def test_streamed_round_trip(size: int) -> None:
    data = os.urandom(size)
    key = blobs.attachment_key(f"round-{size}")
    path = write_stream(key, data)
    raw = path.read_bytes()
    chunks = max(1, -(-size // 16))
    assert len(raw) == blobs.HEADER.size + size + 16 * chunks
    assert b"".join(blobs.StreamReader(key).chunks()) == data
    assert blobs.read_small(key) == data


def _reader_fails(key: str) -> None:
    with pytest.raises(blobs.BlobError):
        b"".join(blobs.StreamReader(key).chunks())


def test_tampering_is_detected() -> None:
    key = blobs.attachment_key("tamper")
    path = write_stream(key, os.urandom(64))
    raw = bytearray(path.read_bytes())
    raw[blobs.HEADER.size + 20] ^= 0x80
    path.write_bytes(bytes(raw))
    _reader_fails(key)


def test_truncation_at_a_chunk_boundary_is_detected() -> None:
    key = blobs.attachment_key("truncate")
    path = write_stream(key, os.urandom(64))  # four chunks of 16 bytes
    raw = path.read_bytes()
    path.write_bytes(raw[: blobs.HEADER.size + 3 * 32])  # drop the final chunk
    _reader_fails(key)


def test_reordered_chunks_are_detected() -> None:
    key = blobs.attachment_key("reorder")
    path = write_stream(key, os.urandom(64))
    raw = path.read_bytes()
    header, body = raw[: blobs.HEADER.size], raw[blobs.HEADER.size :]
    pieces = [body[i : i + 32] for i in range(0, len(body), 32)]
    pieces[0], pieces[1] = pieces[1], pieces[0]
    path.write_bytes(header + b"".join(pieces))
    _reader_fails(key)


def test_another_key_cannot_open(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    key = blobs.attachment_key("other-key")
    write_stream(key, b"secret bytes")
    other = dataclasses.replace(settings.HAVEN, storage_encryption_key=os.urandom(32))
    monkeypatch.setattr(settings, "HAVEN", other)
    monkeypatch.setattr(blobs, "_stream_key", blobs._stream_key.__wrapped__)
    _reader_fails(key)


def test_an_aborted_write_leaves_nothing(media_root: Path) -> None:
    key = blobs.attachment_key("aborted")

    def interrupted() -> None:
        with blobs.StreamWriter(key) as writer:
            writer.write(b"partial")
            raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        interrupted()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_missing_blobs() -> None:
    with pytest.raises(blobs.BlobMissing):
        blobs.StreamReader(blobs.attachment_key("nothing"))
    with pytest.raises(blobs.BlobMissing):
        blobs.read_small(blobs.avatar_key("nothing"))
    assert blobs.delete(blobs.avatar_key("nothing")) is False
