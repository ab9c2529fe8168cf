"""The end-to-end-encryption key directory (api.md 2.5): identity keys, signed prekeys, one-time
prekeys and the encrypted key backup. Every key is opaque bytes, stored and returned exactly.

A bundle request hands each one-time prekey out at most once, even to simultaneous requests: on
PostgreSQL the oldest unused prekey is claimed with ``FOR UPDATE SKIP LOCKED`` (a concurrent
request takes the next one instead of waiting); SQLite serialises writers anyway. Prekeys are
never wiped at login (they belong to the account, not to a session).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import hooks
from accounts.models import KeyBackup, PreKey, User
from haven_site.api.encoding import b64decode_strict, decode_b64
from haven_site.api.errors import BadRequest, NotFound

MAX_PREKEYS_PER_UPLOAD = 100
REPLENISH_BELOW = 20
BACKUP_NONCE_BYTES = 24
BACKUP_SALT_BYTES = 16
MAX_BACKUP_BYTES = 512 * 1024


@dataclass(frozen=True)
class KeyBundle:
    identity_key: bytes
    signed_prekey: bytes
    signed_prekey_sig: bytes
    one_time_prekey: bytes | None


def do_set_identity(
    user: User, identity_key: str, signed_prekey: str, signed_prekey_signature: str
) -> None:
    """Replace the identity key and signed prekey. A *new* identity key voids every sender key
    sealed to the old one: the ``identity_key_changed`` hook drops those distributions (chat;
    clients re-request them)."""
    identity = decode_b64(identity_key, "Invalid identity_key encoding")
    signed = decode_b64(signed_prekey, "Invalid signed_prekey encoding")
    signature = decode_b64(signed_prekey_signature, "Invalid signed_prekey_signature encoding")
    with transaction.atomic():
        current = (
            User.objects.select_for_update()
            .filter(id=user.id)
            .values_list("identity_key", flat=True)
            .first()
        )
        if current is None:
            raise NotFound("User not found")
        User.objects.filter(id=user.id).update(
            identity_key=identity,
            signed_prekey=signed,
            signed_prekey_sig=signature,
            updated_at=timezone.now(),
        )
        if bytes(current) != identity:
            hooks.identity_key_changed.send(hooks.IdentityKeyChanged(user.id))


def unused_prekey_count(user_id: uuid.UUID) -> int:
    return PreKey.objects.filter(user_id=user_id, used=False).count()


def do_upload_prekeys(user: User, prekeys: list[str]) -> int:
    """Adds up to 100 one-time prekeys (all or nothing); returns the unused count after."""
    if not prekeys:
        raise BadRequest("No prekeys provided")
    if len(prekeys) > MAX_PREKEYS_PER_UPLOAD:
        raise BadRequest(f"Maximum {MAX_PREKEYS_PER_UPLOAD} prekeys per upload")
    decoded: list[bytes] = []
    for index, text in enumerate(prekeys):
        raw = b64decode_strict(text)
        if raw is None:
            raise BadRequest(f"Invalid prekey encoding at index {index}")
        decoded.append(raw)
    with transaction.atomic():
        # key_id only orders a user's prekeys here (clients never see it); continuing after the
        # highest one keeps ids distinct (docs/api-messages.md).
        highest = PreKey.objects.filter(user=user).aggregate(m=Max("key_id"))["m"]
        start = 0 if highest is None else highest + 1
        PreKey.objects.bulk_create(
            PreKey(user=user, key_id=start + index, public_key=key)
            for index, key in enumerate(decoded)
        )
        return unused_prekey_count(user.id)


def do_clear_prekeys(user: User) -> int:
    deleted, _ = PreKey.objects.filter(user=user, used=False).delete()
    return deleted


def _claim_prekey(user_id: uuid.UUID) -> bytes | None:
    """Mark the oldest unused prekey used and return it; each key goes to exactly one caller."""
    with transaction.atomic():
        row = (
            PreKey.objects.select_for_update(skip_locked=True)
            .filter(user_id=user_id, used=False)
            .order_by("created_at", "key_id")
            .values_list("id", "public_key")
            .first()
        )
        if row is None:
            return None
        PreKey.objects.filter(id=row[0]).update(used=True)
        return bytes(row[1])


def key_bundle(target_id: uuid.UUID) -> KeyBundle:
    keys = (
        User.objects.filter(id=target_id)
        .values_list("identity_key", "signed_prekey", "signed_prekey_sig")
        .first()
    )
    if keys is None:
        raise NotFound("User not found")
    identity, signed, signature = (bytes(k) for k in keys)
    return KeyBundle(identity, signed, signature, _claim_prekey(target_id))


# --- Key backup (owner only: every route acts on the caller's own backup) ------------------------


def do_put_backup(
    user: User, encrypted_data: str, nonce: str, salt: str, version: int | None
) -> None:
    data = decode_b64(encrypted_data, "Invalid encrypted_data encoding")
    raw_nonce = decode_b64(nonce, "Invalid nonce encoding")
    raw_salt = decode_b64(salt, "Invalid salt encoding")
    if len(raw_nonce) != BACKUP_NONCE_BYTES:
        raise BadRequest(f"Nonce must be {BACKUP_NONCE_BYTES} bytes")
    if len(raw_salt) != BACKUP_SALT_BYTES:
        raise BadRequest(f"Salt must be {BACKUP_SALT_BYTES} bytes")
    if len(data) > MAX_BACKUP_BYTES:
        raise BadRequest("Backup too large (max 512KB)")
    KeyBackup.objects.update_or_create(
        user=user,
        defaults={
            "encrypted_data": data,
            "nonce": raw_nonce,
            "salt": raw_salt,
            "version": 1 if version is None else version,
        },
    )


def backup_status(user: User) -> KeyBackup | None:
    return KeyBackup.objects.filter(user=user).first()


def key_backup(user: User) -> KeyBackup:
    backup = backup_status(user)
    if backup is None:
        raise NotFound("No key backup found")
    return backup


def do_delete_backup(user: User) -> None:
    KeyBackup.objects.filter(user=user).delete()
