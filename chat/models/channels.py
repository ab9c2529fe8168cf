from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from chat.meta import label


class ChannelType(models.TextChoices):
    TEXT = "text"
    VOICE = "voice"
    DM = "dm"
    GROUP = "group"


class DmStatus(models.TextChoices):
    ACTIVE = "active"
    PENDING = "pending"
    DECLINED = "declined"


class ChannelCategory(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="categories")
    name = models.TextField()
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "channel_categories"
        verbose_name_plural = "channel categories"

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey(
        "chat.Server", on_delete=models.CASCADE, null=True, blank=True, related_name="channels"
    )
    encrypted_meta = models.BinaryField(default=b"")
    channel_type = models.CharField(max_length=16, default=ChannelType.TEXT)
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    category = models.ForeignKey(
        ChannelCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="channels"
    )
    dm_status = models.CharField(max_length=8, choices=DmStatus.choices, default=DmStatus.ACTIVE)
    is_private = models.BooleanField(default=False)
    # Who opened a DM (the requester of a pending DM request); null for other channels and for
    # DMs created before this column existed (anyone may send in those, or answer).
    dm_initiator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "channels"
        indexes = [models.Index(fields=["server", "position"], name="channels_by_position")]

    def __str__(self) -> str:
        return label(self.encrypted_meta, self.id)

    @property
    def is_direct(self) -> bool:
        """DM and group DM channels belong to no server."""
        return self.server_id is None


class ChannelMember(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "channel_members"
        constraints = [
            models.UniqueConstraint(fields=["channel", "user"], name="channel_members_unique")
        ]
