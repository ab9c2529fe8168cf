from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class CustomEmoji(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="emojis")
    name = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    animated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "custom_emojis"
        constraints = [models.UniqueConstraint(fields=["server", "name"], name="emojis_unique")]
