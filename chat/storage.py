"""Blob housekeeping for chat: deleting attachment blobs with their messages, and collecting
what nothing refers to any more (uploads never sent, blobs whose rows went by cascade).

Attachment blobs are deleted (operations.md 5.4 keeps them forever):

* actions that delete messages call ``delete_attachment_blobs_on_commit(ids)`` with the ids of
  the attachments they delete, so the blobs go once the deletion is committed (a rollback keeps
  them);
* ``collect_orphans`` (``manage.py collect_orphan_uploads``, daily) deletes unlinked uploads
  older than a day, and any blob file that no row refers to (e.g. after a server was deleted with
  its messages by cascade), again only when older than a day so that an upload in flight is
  never touched.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from haven_site import blobs

logger = logging.getLogger("haven.storage")

ORPHAN_AGE = timedelta(days=1)


def delete_attachment_blobs(ids: Iterable[uuid.UUID | str]) -> int:
    """Delete the blobs of these attachments now (missing ones are fine). Returns how many went."""
    removed = 0
    for attachment_id in ids:
        try:
            removed += blobs.delete(blobs.attachment_key(attachment_id))
        except OSError:
            logger.exception("Could not delete an attachment blob")
    return removed


def delete_attachment_blobs_on_commit(ids: Iterable[uuid.UUID | str]) -> None:
    """Delete the blobs once the surrounding transaction commits (at once outside one)."""
    frozen = [str(i) for i in ids]
    if frozen:
        transaction.on_commit(lambda: delete_attachment_blobs(frozen), robust=True)


def attachment_ids_of_user(user_id: uuid.UUID) -> list[uuid.UUID]:
    """Attachments that go when the account goes: on its messages, in its owned servers, and its
    unsent uploads."""
    from chat.models import Attachment

    return list(
        Attachment.objects.filter(
            Q(message__sender_id=user_id)
            | Q(message__channel__server__owner_id=user_id)
            | Q(uploader_id=user_id, message__isnull=True)
        ).values_list("id", flat=True)
    )


@dataclass
class Collected:
    unlinked_rows: int = 0
    files: int = 0


def _referenced_keys() -> set[str]:
    from accounts.models import User
    from chat.models import Attachment, CustomEmoji, Server

    keys = set(Attachment.objects.values_list("storage_key", flat=True).iterator())
    for user_id, has_avatar, has_banner in (
        User.objects.filter(Q(has_avatar=True) | Q(has_banner=True))
        .values_list("id", "has_avatar", "has_banner")
        .iterator()
    ):
        if has_avatar:
            keys.add(blobs.avatar_key(user_id))
        if has_banner:
            keys.add(blobs.banner_key(user_id))
    for server_id in Server.objects.filter(has_icon=True).values_list("id", flat=True).iterator():
        keys.add(blobs.server_icon_key(server_id))
    for server_id, emoji_id in CustomEmoji.objects.values_list("server_id", "id").iterator():
        keys.add(blobs.emoji_key(server_id, emoji_id))
    return keys


def collect_orphans(*, older_than: timedelta = ORPHAN_AGE, dry_run: bool = False) -> Collected:
    from chat.models import Attachment

    result = Collected()
    cutoff = timezone.now() - older_than
    stale = Attachment.objects.filter(message__isnull=True, created_at__lt=cutoff)
    if dry_run:
        result.unlinked_rows = stale.count()
    else:
        with transaction.atomic():
            # Locked, so that a message linking one of them now waits and then finds it gone.
            stale_ids = list(stale.select_for_update().values_list("id", flat=True))
            Attachment.objects.filter(id__in=stale_ids).delete()
        delete_attachment_blobs(stale_ids)
        result.unlinked_rows = len(stale_ids)

    root = Path(settings.MEDIA_ROOT)
    if not root.is_dir():
        return result
    referenced = _referenced_keys()
    oldest = time.time() - older_than.total_seconds()
    for directory in root.iterdir():
        if not directory.is_dir() or len(directory.name) != 2:
            continue
        for path in directory.iterdir():
            try:
                if path.stat().st_mtime > oldest:
                    continue
            except FileNotFoundError:
                continue
            key = f"{directory.name}/{path.name}"
            leftover_temporary = path.name.startswith(".upload-")
            if leftover_temporary or key not in referenced:
                result.files += 1
                if not dry_run:
                    path.unlink(missing_ok=True)
    return result


def delete_message_files_on_commit(**message_filter: Any) -> None:
    """Before deleting messages: their attachments' blobs go once the deletion commits.
    ``message_filter`` selects the messages (e.g. ``id__in=ids``, ``channel=channel``)."""
    from chat.models import Attachment

    prefixed = {f"message__{name}": value for name, value in message_filter.items()}
    delete_attachment_blobs_on_commit(
        Attachment.objects.filter(**prefixed).values_list("id", flat=True)
    )


def delete_server_files_on_commit(server: Any) -> None:
    """Before deleting a server: its icon and custom emoji images go once the deletion commits."""
    keys = [blobs.emoji_key(server.id, e) for e in server.emojis.values_list("id", flat=True)]
    if server.has_icon:
        keys.append(blobs.server_icon_key(server.id))

    def remove() -> None:
        for key in keys:
            try:
                blobs.delete(key)
            except OSError:
                logger.exception("Could not delete a server image blob")

    if keys:
        transaction.on_commit(remove, robust=True)
