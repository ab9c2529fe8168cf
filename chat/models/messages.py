from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class MessageType(models.TextChoices):
    USER = "user"
    SYSTEM = "system"


class Message(models.Model):
    """An opaque, end-to-end-encrypted message. The sender is kept for authorisation only and is
    never sent to clients (sealed sender). ``timestamp`` is unique per channel so that the spec's
    timestamp cursor (``before``) pages without skipping or repeating messages."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    sender_token = models.BinaryField(default=b"")
    encrypted_body = models.BinaryField(default=b"")
    timestamp = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    has_attachments = models.BooleanField(default=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    reply_to_id = models.UUIDField(null=True, blank=True)
    message_type = models.CharField(
        max_length=8, choices=MessageType.choices, default=MessageType.USER
    )
    # Client-chosen idempotency key: a retried send returns the first message (docs/api.md).
    nonce = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "messages"
        constraints = [
            models.UniqueConstraint(fields=["channel", "timestamp"], name="messages_channel_time"),
            models.UniqueConstraint(
                fields=["sender", "nonce"],
                condition=models.Q(nonce__isnull=False),
                name="messages_sender_nonce",
            ),
        ]


class Attachment(models.Model):
    """An uploaded blob. The row exists from the upload on (bound to its uploader), and is linked
    to a message when that message is sent; unlinked uploads can be collected."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    storage_key = models.CharField(max_length=80)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "attachments"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    sender_token = models.CharField(max_length=64, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "reactions"
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="reactions_unique")
        ]


class PinnedMessage(models.Model):
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="pins")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="pins")
    pinned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    pinned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pinned_messages"
        constraints = [
            models.UniqueConstraint(fields=["channel", "message"], name="pinned_messages_unique")
        ]


class ReadState(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    last_read_at = models.DateTimeField()

    class Meta:
        db_table = "read_states"
        constraints = [
            models.UniqueConstraint(fields=["user", "channel"], name="read_states_unique")
        ]


class SenderKeyDistribution(models.Model):
    """A sealed sender-key message for one recipient; only that recipient ever receives it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="+")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    distribution_id = models.UUIDField()
    encrypted_skdm = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "sender_key_distributions"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "from_user", "to_user", "distribution_id"],
                name="sender_keys_unique",
            )
        ]
        # A recipient's inbox in one channel, oldest first (GET .../sender-keys).
        indexes = [
            models.Index(fields=["channel", "to_user", "created_at"], name="sender_keys_inbox")
        ]
