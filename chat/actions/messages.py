"""Messages: send, edit, delete, bulk delete, history (api.md 2.9, websocket.md 3.1-3.3).

The server is a blind relay: ``sender_token`` and ``encrypted_body`` are stored as the bytes the
client sent and returned exactly; they are never decoded beyond base64, never logged.

Every function here raises ``ApiError`` subclasses whose ``.message`` is the exact text of the
WebSocket ``Error`` event (websocket.md section 3); REST answers with the same text and the
status carried by the error (api.md 2.9). The gateway calls these functions from sync code
(``haven_site.threads.in_thread``); docs/api-messages.md lists the final signatures.

Besides the spec's checks, with the spec's existing texts where one exists: SEND_MESSAGES,
ATTACH_FILES, READ_MESSAGE_HISTORY and private channels (through ``chat.access``), the DM's
request state and blocks, and author-only edits of messages still visible to the author.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.actions.blocks import blocked_either_way
from accounts.models import User
from chat.access import (
    MISSING_PERMISSION,
    NOT_CHANNEL_MEMBER,
    ChannelAccess,
    access_channel,
    channel_access,
    check_not_timed_out,
)
from chat.actions.audit import record_audit
from chat.actions.message_store import insert_message, live_messages, read_page
from chat.models import (
    Attachment,
    Channel,
    ChannelMember,
    ChannelType,
    DmStatus,
    Message,
    Report,
    ReportStatus,
)
from chat.permissions import Permission
from chat.shapes import message_shape
from chat.shapes.messages import MessageRow
from chat.storage import delete_message_files_on_commit
from haven_site.api.encoding import decode_b64
from haven_site.api.errors import BadRequest, Conflict, Forbidden, NotFound
from realtime.events import publish, to_channels, to_users

# Decoded-size limits of ``encrypted_body``: the WebSocket's (websocket.md 1.6) and the REST
# fallback's (64 KiB: anything a client could send, while bounding what every recipient fetches).
MAX_WS_BODY = 8192
MAX_REST_BODY = 64 * 1024
MAX_NONCE = 64
HISTORY_DEFAULT = 50
HISTORY_MAX = 100
BULK_DELETE_MAX = 100
# While a DM request is pending its requester may send this many messages (the request's
# content); the rest wait for the answer.
PENDING_DM_MESSAGES = 10

TOO_LARGE = "Message too large"
CANNOT_MESSAGE = "Cannot message this user"
DM_DECLINED = "This DM request was declined"
DM_ACCEPT_FIRST = "Accept the DM request first"
DM_STILL_PENDING = "DM request is still pending"
CANNOT_EDIT = "Failed to edit message: Forbidden: Cannot edit this message"
CANNOT_DELETE = "Cannot delete this message"
MESSAGE_NOT_FOUND = "Message not found"


def direct_member_ids(channel: Channel) -> list[uuid.UUID]:
    return list(ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True))


def blocked_in_dm(user_id: uuid.UUID, channel: Channel, members: Sequence[uuid.UUID]) -> bool:
    """True in a one-to-one DM whose other participant blocked this user or was blocked by them.
    Blocks do not silence group DMs."""
    if channel.channel_type != ChannelType.DM:
        return False
    others = [m for m in members if m != user_id]
    return bool(others) and blocked_either_way(user_id, others[0])


def _check_dm_rules(user_id: uuid.UUID, channel: Channel, members: Sequence[uuid.UUID]) -> None:
    """One-to-one DMs: no message across a block (either way); a declined request takes no
    messages; a pending one takes a few from its requester only (docs/api-messages.md)."""
    if channel.channel_type != ChannelType.DM:
        return
    if blocked_in_dm(user_id, channel, members):
        raise Forbidden(CANNOT_MESSAGE)
    if channel.dm_initiator_id is None:
        return  # a DM from before requests were tracked: anyone may send
    if channel.dm_status == DmStatus.DECLINED:
        raise Forbidden(DM_DECLINED)
    if channel.dm_status == DmStatus.PENDING:
        if user_id != channel.dm_initiator_id:
            raise Forbidden(DM_ACCEPT_FIRST)
        sent = Message.objects.filter(channel=channel, sender_id=user_id).count()
        if sent >= PENDING_DM_MESSAGES:
            raise Forbidden(DM_STILL_PENDING)


def _check_nonce(nonce: str | None) -> None:
    if nonce is not None and not 1 <= len(nonce) <= MAX_NONCE:
        raise BadRequest(f"nonce must be 1-{MAX_NONCE} characters")


def _earlier_send(user_id: uuid.UUID, channel: Channel, nonce: str) -> Message | None:
    """The message this user already sent with this nonce, if any (an idempotent retry)."""
    earlier = Message.objects.filter(sender_id=user_id, nonce=nonce).first()
    if earlier is not None and earlier.channel_id != channel.id:
        raise Conflict("nonce already used for another message")
    return earlier


def do_send_message(
    user: User,
    channel_id: uuid.UUID,
    *,
    sender_token: str,
    encrypted_body: str,
    expires_at: datetime | None = None,
    attachment_ids: Sequence[uuid.UUID] | None = None,
    reply_to_id: uuid.UUID | None = None,
    nonce: str | None = None,
    has_attachments: bool = False,
    via_websocket: bool,
) -> Message:
    """Store a message and publish NewMessage (websocket.md 3.1 steps 2-8 and 10-11).

    The gateway does step 1 (rate limit) and step 9 (MessageAck to the sending connection, which
    it sends for a replayed nonce too). NewMessage goes to the channel's subscribers and, for DM
    and group channels, to every other participant's connections; it is published once per
    stored message, never for a retried nonce. ``has_attachments`` is the REST body's flag; it
    is also true when ``attachment_ids`` is non-empty.
    """
    access = access_channel(user.id, channel_id)  # 403 "Not a member of this channel"
    channel = access.channel
    _check_nonce(nonce)
    if nonce is not None:
        earlier = _earlier_send(user.id, channel, nonce)
        if earlier is not None:
            return earlier
    attachments = list(dict.fromkeys(attachment_ids or ()))
    with_files = has_attachments or bool(attachments)
    needed = Permission.SEND_MESSAGES | (Permission.ATTACH_FILES if with_files else 0)
    if not access.has(needed):
        raise Forbidden(MISSING_PERMISSION)
    members = direct_member_ids(channel) if channel.is_direct else []
    _check_dm_rules(user.id, channel, members)
    check_not_timed_out(user.id, channel.server_id)
    token = decode_b64(sender_token, "Invalid sender_token encoding")
    body = decode_b64(encrypted_body, "Invalid encrypted_body encoding")
    if len(body) > (MAX_WS_BODY if via_websocket else MAX_REST_BODY):
        raise BadRequest(TOO_LARGE)
    # Without attachments the insert is the only write: its own transaction suffices, and an
    # outer one would only add a savepoint round trip (docs/performance.md).
    with transaction.atomic() if attachments else contextlib.nullcontext():
        try:
            message = insert_message(
                channel,
                sender=user,
                sender_token=token,
                encrypted_body=body,
                expires_at=expires_at,
                has_attachments=with_files,
                reply_to_id=reply_to_id,
                nonce=nonce,
            )
        except IntegrityError:
            earlier = _earlier_send(user.id, channel, nonce) if nonce is not None else None
            if earlier is None:
                raise
            return earlier  # a concurrent retry with the same nonce stored it first
        if attachments:
            # Only the sender's own uploads that no message holds yet; others are ignored
            # silently (a failed link does not fail the send).
            Attachment.objects.filter(
                id__in=attachments, uploader=user, message__isnull=True
            ).update(message=message)
        audience = to_channels(channel.id)
        if channel.is_direct:
            audience = audience | to_users(m for m in members if m != user.id)
        publish("NewMessage", message_shape(message), audience)
    return message


def do_edit_message(user: User, message_id: uuid.UUID, encrypted_body: str) -> Message:
    """Author-only; MessageEdited to the channel's subscribers (websocket.md 3.2). Adds the
    8192-byte limit (9.12), requires the author to still see the channel, and refuses edits in a
    one-to-one DM across a block and in a server where the author is timed out."""
    body = decode_b64(encrypted_body, "Invalid encrypted_body encoding")
    if len(body) > MAX_WS_BODY:
        raise BadRequest(TOO_LARGE)
    message = (
        live_messages()
        .select_related("channel__server")
        .filter(id=message_id, sender_id=user.id)
        .first()
    )
    if message is None or channel_access(user.id, message.channel) is None:
        raise Forbidden(CANNOT_EDIT)
    channel = message.channel
    if channel.channel_type == ChannelType.DM and blocked_in_dm(
        user.id, channel, direct_member_ids(channel)
    ):
        raise Forbidden(CANNOT_EDIT)  # an edit must not carry new words across a block
    check_not_timed_out(user.id, channel.server_id)  # an edit posts new words too
    with transaction.atomic():
        now = timezone.now()
        if not Message.objects.filter(id=message.id).update(encrypted_body=body, edited_at=now):
            raise Forbidden(CANNOT_EDIT)  # deleted meanwhile
        message.encrypted_body, message.edited_at = body, now
        publish(
            "MessageEdited",
            {
                "message_id": str(message.id),
                "channel_id": str(message.channel_id),
                "encrypted_body": message_shape(message)["encrypted_body"],
            },
            to_channels(message.channel_id),
        )
    return message


def do_delete_message(user: User, message_id: uuid.UUID) -> Message:
    """The author deletes their own message; anyone else needs MANAGE_MESSAGES in the server
    channel (owner and ADMINISTRATOR included), checked before anything is touched, and leaves an
    audit entry ``message_delete``. The message's attachments, reactions, pin and reports go
    with it; MessageDeleted to the channel's subscribers (websocket.md 3.3)."""
    message = live_messages().select_related("channel__server").filter(id=message_id).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    channel = message.channel
    moderated = message.sender_id != user.id
    if moderated:
        access = channel_access(user.id, channel)
        if access is None:
            raise NotFound(MESSAGE_NOT_FOUND)  # a channel the user cannot see: reveal nothing
        if channel.server_id is None or not access.has(Permission.MANAGE_MESSAGES):
            raise Forbidden(CANNOT_DELETE)
    remove_message(message, moderator_id=user.id if moderated else None)
    return message


def drop_settled_reports(message_ids: Any) -> None:
    """Reports of deleted messages go with them (api.md 2.9), except pending ones: an author
    deleting a reported message must not make the report disappear before an instance admin
    saw it (docs/moderation.md). ``message_ids``: ids or a subquery of them."""
    Report.objects.filter(message_id__in=message_ids).exclude(status=ReportStatus.PENDING).delete()


def remove_message(
    message: Message, *, moderator_id: uuid.UUID | None, keep_reports: bool = False
) -> None:
    """Delete a message once authorised (``do_delete_message``, or an instance admin's report
    decision, which keeps the reports it resolves): attachments, reactions and pin go with it;
    a moderator's deletion in a server channel leaves an audit entry ``message_delete``."""
    channel = message.channel
    with transaction.atomic():
        if not keep_reports:
            drop_settled_reports([message.id])
        delete_message_files_on_commit(id=message.id)
        _, per_model = Message.objects.filter(id=message.id).delete()
        if not per_model.get(Message._meta.label):
            raise NotFound(MESSAGE_NOT_FOUND)  # a concurrent delete won
        if moderator_id is not None and channel.server_id is not None:
            record_audit(
                channel.server_id,
                moderator_id,
                "message_delete",
                "message",
                message.id,
                {"channel_id": str(channel.id)},
            )
        publish(
            "MessageDeleted",
            {"message_id": str(message.id), "channel_id": str(channel.id)},
            to_channels(channel.id),
        )


def do_bulk_delete(user: User, channel_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> int:
    """Moderator bulk delete in a server channel (api.md 2.9). Only messages of this channel are
    touched, with their reactions, pins and reports."""
    if not 1 <= len(message_ids) <= BULK_DELETE_MAX:
        raise BadRequest(f"Must provide 1-{BULK_DELETE_MAX} message IDs")
    channel = Channel.objects.select_related("server").filter(id=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found")
    if channel.server_id is None:
        raise Forbidden("Bulk delete only available in server channels")
    access = channel_access(user.id, channel)
    if access is None:
        raise Forbidden(NOT_CHANNEL_MEMBER)
    if not access.has(Permission.MANAGE_MESSAGES):
        raise Forbidden(MISSING_PERMISSION)
    with transaction.atomic():
        doomed = list(
            Message.objects.select_for_update()
            .filter(channel=channel, id__in=set(message_ids))
            .order_by("timestamp")
            .values_list("id", flat=True)
        )
        drop_settled_reports(doomed)
        delete_message_files_on_commit(id__in=doomed)
        Message.objects.filter(id__in=doomed).delete()
        assert channel.server_id is not None
        record_audit(
            channel.server_id,
            user.id,
            "message_bulk_delete",
            "channel",
            channel.id,
            {"count": len(doomed)},
        )
        publish(
            "BulkMessagesDeleted",
            {"channel_id": str(channel.id), "message_ids": [str(i) for i in doomed]},
            to_channels(channel.id),
        )
    return len(doomed)


def history(
    user: User, channel_id: uuid.UUID, *, before: datetime | None, limit: int
) -> list[MessageRow]:
    """Newest first, ``before`` exclusive (api.md 1.6). Keyset pagination over the unique
    (channel, timestamp) index: one query per page whatever its position or contents. Rows,
    not model instances: a page is read-only, and instances cost more than the query."""
    access_channel(user.id, channel_id, need=Permission.READ_MESSAGE_HISTORY)
    limit = min(limit, HISTORY_MAX)
    if limit <= 0:
        return []
    return read_page(channel_id, before, limit)


def readable_message(user_id: uuid.UUID, message_id: uuid.UUID) -> tuple[Message, ChannelAccess]:
    """A live message and the user's access to its channel: ``404 Message not found``, else
    ``403 Not a member of this channel`` (websocket.md 3.4 step 1, plus the access check)."""
    message = live_messages().select_related("channel__server").filter(id=message_id).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    access = channel_access(user_id, message.channel)
    if access is None:
        raise Forbidden(NOT_CHANNEL_MEMBER)
    return message, access


def purge_expired_messages() -> int:
    """Delete disappearing messages whose time has passed, with their settled reports and
    attachment files (attachment rows, reactions and pins cascade). No event (operations.md
    1.7); run by ``manage.py maintenance``."""
    with transaction.atomic():
        now = timezone.now()
        expired = Message.objects.filter(expires_at__lte=now)
        drop_settled_reports(expired.values("id"))
        delete_message_files_on_commit(expires_at__lte=now)
        _, per_model = expired.delete()
    return per_model.get(Message._meta.label, 0)
