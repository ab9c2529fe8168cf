"""The encrypted blob store: every stored file (attachments, avatars, banners, server icons, custom
emojis) lives under ``MEDIA_ROOT`` encrypted with AES-256-GCM (operations.md 5.1-5.3).

Names (operations.md 5.1): ``hex(HMAC-SHA256(STORAGE_ENCRYPTION_KEY, identifier))`` split as
``<2 hex>/<62 hex>``, so the file system reveals no user, server or attachment ids. Identifiers:
``<attachment uuid>``, ``avatar:<user uuid>``, ``banner:<user uuid>``, ``server-icon:<server
uuid>``, ``emoji:<server uuid>:<emoji uuid>``.

Two layouts (docs/files-and-voice.md describes both byte by byte):

* **Single-shot** (small images): the spec's ``nonce(12) || ciphertext || tag(16)`` under the
  raw storage key, no associated data, so blobs copied from an existing deployment still open.
* **Streamed** (attachments, up to ``MAX_UPLOAD_SIZE_BYTES``): a 24-byte header ``"HVNBLOB1" ||
  chunk size (u32, big-endian) || base nonce (12 random bytes)``, then the plaintext in chunks of
  ``chunk size`` bytes (the last may be shorter, or empty), each sealed separately as
  ``ciphertext || tag``. Chunk ``i`` uses the nonce ``base nonce XOR i`` (in the last 8 bytes) and
  the associated data ``header || i (u64) || final flag (1 byte)``: chunks cannot be reordered,
  dropped, moved to another blob, or truncated at a chunk boundary without failing to open. The
  key is HKDF-SHA256 of the storage key with the label ``haven/blob-stream/v1`` (key separation
  from the names' HMAC). Memory use is one chunk, whatever the size of the file.

Writes go to a temporary file in the target directory and are renamed into place, so a reader
never sees half a blob.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import struct
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from haven_site.keys import hkdf

logger = logging.getLogger("haven.blobs")

NONCE_BYTES = 12
TAG_BYTES = 16
MAGIC = b"HVNBLOB1"
HEADER = struct.Struct(">8sI12s")  # magic, chunk size, base nonce: 24 bytes
CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024


class BlobError(Exception):
    """A blob that cannot be opened: tampered with, truncated, or sealed under another key."""


class BlobMissing(BlobError):
    """No blob under that name."""


# --- Names --------------------------------------------------------------------------------------


def _storage_key() -> bytes:
    key: bytes = settings.HAVEN.storage_encryption_key
    if len(key) != 32:
        raise RuntimeError("STORAGE_ENCRYPTION_KEY must be 32 bytes (64 hex characters)")
    return key


def storage_key(identifier: str) -> str:
    """``<2 hex>/<62 hex>``: HMAC of the identifier under the storage key (operations.md 5.1)."""
    digest = hmac.new(_storage_key(), identifier.encode(), hashlib.sha256).hexdigest()
    return f"{digest[:2]}/{digest[2:]}"


def attachment_key(attachment_id: object) -> str:
    return storage_key(str(attachment_id))


def avatar_key(user_id: object) -> str:
    return storage_key(f"avatar:{user_id}")


def banner_key(user_id: object) -> str:
    return storage_key(f"banner:{user_id}")


def server_icon_key(server_id: object) -> str:
    return storage_key(f"server-icon:{server_id}")


def emoji_key(server_id: object, emoji_id: object) -> str:
    return storage_key(f"emoji:{server_id}:{emoji_id}")


def path_of(key: str) -> Path:
    """The file of a storage key; refuses anything that is not ``<2 hex>/<62 hex>``."""
    prefix, _, rest = key.partition("/")
    if (
        len(prefix) != 2
        or len(rest) != 62
        or not all(c in "0123456789abcdef" for c in prefix + rest)
    ):
        raise ValueError("not a storage key")
    return Path(settings.MEDIA_ROOT) / prefix / rest


def exists(key: str) -> bool:
    return path_of(key).is_file()


def delete(key: str) -> bool:
    """Remove a blob; a missing one is not an error (operations.md 5.3). True if one was removed."""
    try:
        path_of(key).unlink()
    except FileNotFoundError:
        return False
    return True


def _temporary_beside(path: Path) -> tuple[BinaryIO, Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    return os.fdopen(fd, "wb"), Path(name)


# --- Single-shot layout (images) ----------------------------------------------------------------


def seal(plaintext: bytes) -> bytes:
    """The single-shot layout: ``nonce || ciphertext || tag`` under the raw storage key."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_storage_key()).encrypt(nonce, plaintext, None)


def open_sealed(sealed: bytes) -> bytes:
    if len(sealed) < NONCE_BYTES + TAG_BYTES:
        raise BlobError("blob too short")
    try:
        return AESGCM(_storage_key()).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
    except InvalidTag:
        raise BlobError("blob does not open under this key") from None


def write_small(key: str, plaintext: bytes) -> None:
    path = path_of(key)
    handle, temporary = _temporary_beside(path)
    try:
        with handle:
            handle.write(seal(plaintext))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_small(key: str) -> bytes:
    """The plaintext of a single-shot blob (a streamed one opens too, for completeness)."""
    try:
        raw = path_of(key).read_bytes()
    except FileNotFoundError:
        raise BlobMissing(key) from None
    if raw.startswith(MAGIC):
        return b"".join(_open_stream_bytes(raw))
    return open_sealed(raw)


# --- Streamed layout (attachments) --------------------------------------------------------------


@lru_cache(maxsize=4)
def _stream_key(storage_key_bytes: bytes) -> bytes:
    return hkdf(storage_key_bytes, b"haven/blob-stream/v1")


def _chunk_nonce(base: bytes, index: int) -> bytes:
    tail = int.from_bytes(base[4:], "big") ^ index
    return base[:4] + tail.to_bytes(8, "big")


def _chunk_aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


class StreamWriter:
    """Encrypts a blob chunk by chunk into a temporary file; ``commit`` renames it into place.

    ``write`` accepts data of any size; at most one chunk of plaintext is buffered.
    """

    def __init__(self, key: str, chunk_size: int = CHUNK_SIZE) -> None:
        self.path = path_of(key)
        self.chunk_size = chunk_size
        self._aead = AESGCM(_stream_key(_storage_key()))
        self._header = HEADER.pack(MAGIC, chunk_size, os.urandom(NONCE_BYTES))
        self._base = self._header[-NONCE_BYTES:]
        self._handle, self._temporary = _temporary_beside(self.path)
        self._handle.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self.size = 0
        self._done = False

    def _emit(self, plaintext: bytes, *, final: bool) -> None:
        nonce = _chunk_nonce(self._base, self._index)
        aad = _chunk_aad(self._header, self._index, final)
        self._handle.write(self._aead.encrypt(nonce, plaintext, aad))
        self._index += 1

    def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        # Keep the last (possibly full) chunk back: only close() knows which chunk is final.
        while len(self._buffer) > self.chunk_size:
            self._emit(bytes(self._buffer[: self.chunk_size]), final=False)
            del self._buffer[: self.chunk_size]

    def commit(self) -> None:
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._handle.close()
        os.replace(self._temporary, self.path)
        self._done = True

    def abort(self) -> None:
        if not self._done:
            self._handle.close()
            self._temporary.unlink(missing_ok=True)
            self._done = True

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None or not self._done:
            self.abort()


def _parse_header(header: bytes) -> int:
    if len(header) != HEADER.size:
        raise BlobError("blob header truncated")
    magic, chunk_size, _ = HEADER.unpack(header)
    if magic != MAGIC or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise BlobError("not a streamed blob")
    return int(chunk_size)


class StreamReader:
    """Opens a streamed blob chunk by chunk. ``chunks()`` yields plaintext and raises BlobError
    at the first chunk that does not open (tampering, truncation, wrong key)."""

    def __init__(self, key: str) -> None:
        try:
            self._handle: BinaryIO = path_of(key).open("rb")
        except FileNotFoundError:
            raise BlobMissing(key) from None
        self._header = self._handle.read(HEADER.size)
        if not self._header.startswith(MAGIC):
            # A single-shot blob (e.g. copied from an existing deployment): opened whole.
            self._legacy: bytes | None = self._header + self._handle.read()
            self._handle.close()
            return
        self._legacy = None
        self._chunk_size = _parse_header(self._header)
        self._aead = AESGCM(_stream_key(_storage_key()))
        self._base = self._header[-NONCE_BYTES:]
        self._index = 0
        self._pending = self._handle.read(self._chunk_size + TAG_BYTES)
        self.finished = False

    def read_chunk(self) -> bytes | None:
        """The next chunk of plaintext, or None after the final one."""
        if self._legacy is not None:
            data, self._legacy = open_sealed(self._legacy), None
            self.finished = True
            return data
        if self.finished:
            return None
        current = self._pending
        following = self._handle.read(self._chunk_size + TAG_BYTES)
        final = not following
        if len(current) < TAG_BYTES or (not final and len(current) != self._chunk_size + TAG_BYTES):
            self.close()
            raise BlobError("blob truncated")
        nonce = _chunk_nonce(self._base, self._index)
        try:
            plaintext = self._aead.decrypt(
                nonce, current, _chunk_aad(self._header, self._index, final)
            )
        except InvalidTag:
            self.close()
            raise BlobError("blob chunk does not open") from None
        self._index += 1
        self._pending = following
        if final:
            self.finished = True
            self.close()
        return plaintext

    def chunks(self) -> Iterator[bytes]:
        try:
            while (chunk := self.read_chunk()) is not None:
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        if self._legacy is None and not self._handle.closed:
            self._handle.close()


def _open_stream_bytes(raw: bytes) -> Iterator[bytes]:
    chunk_size = _parse_header(raw[: HEADER.size])
    header, body = raw[: HEADER.size], raw[HEADER.size :]
    aead = AESGCM(_stream_key(_storage_key()))
    step = chunk_size + TAG_BYTES
    pieces = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    for index, piece in enumerate(pieces):
        final = index == len(pieces) - 1
        try:
            yield aead.decrypt(
                _chunk_nonce(header[-NONCE_BYTES:], index), piece, _chunk_aad(header, index, final)
            )
        except InvalidTag:
            raise BlobError("blob chunk does not open") from None
