from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from chat.meta import label


class Server(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    encrypted_meta = models.BinaryField(default=b"")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_servers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    system_channel = models.ForeignKey(
        "chat.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    has_icon = models.BooleanField(default=False)

    class Meta:
        db_table = "servers"

    def __str__(self) -> str:
        return label(self.encrypted_meta, self.id)


class ServerMember(models.Model):
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    nickname = models.CharField(max_length=32, null=True, blank=True)
    timed_out_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "server_members"
        constraints = [
            models.UniqueConstraint(fields=["server", "user"], name="server_members_unique")
        ]
        indexes = [models.Index(fields=["server", "joined_at"], name="server_members_by_join")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.server_id}"
