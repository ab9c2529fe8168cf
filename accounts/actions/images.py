"""Avatars and banners (api.md 2.4): validated images, stored encrypted under HMAC names."""

from __future__ import annotations

import uuid

from django.db import transaction

from accounts.models import User
from haven_site import blobs
from haven_site.api.errors import NotFound
from haven_site.media import MIB, image_upload

AVATAR_LIMIT = 2 * MIB
BANNER_LIMIT = 8 * MIB


def do_set_avatar(user: User, data: bytes) -> User:
    image_upload(data, limit=AVATAR_LIMIT, too_large="Avatar too large (max 2MB)")
    blobs.write_small(blobs.avatar_key(user.id), data)
    User.objects.filter(pk=user.pk).update(has_avatar=True)
    user.refresh_from_db()
    return user


def do_set_banner(user: User, data: bytes) -> User:
    image_upload(data, limit=BANNER_LIMIT, too_large="Banner too large (max 8MB)")
    blobs.write_small(blobs.banner_key(user.id), data)
    User.objects.filter(pk=user.pk).update(has_banner=True)
    user.refresh_from_db()
    return user


def _check_image(user_id: uuid.UUID, flag: str, missing: str) -> None:
    is_set = User.objects.filter(pk=user_id).values_list(flag, flat=True).first()
    if is_set is None:
        raise NotFound("User not found")
    if not is_set:
        raise NotFound(missing)


def check_avatar(user_id: uuid.UUID) -> str:
    """The storage key of a user's avatar, or the spec's 404s."""
    _check_image(user_id, "has_avatar", "No avatar set")
    return blobs.avatar_key(user_id)


def check_banner(user_id: uuid.UUID) -> str:
    _check_image(user_id, "has_banner", "No banner set")
    return blobs.banner_key(user_id)


def delete_profile_images_on_commit(user_id: uuid.UUID) -> None:
    """Account deletion: the avatar and banner blobs go once the deletion commits."""

    def remove() -> None:
        blobs.delete(blobs.avatar_key(user_id))
        blobs.delete(blobs.banner_key(user_id))

    transaction.on_commit(remove, robust=True)
