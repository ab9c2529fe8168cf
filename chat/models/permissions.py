from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Role(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="roles")
    name = models.TextField()
    color = models.TextField(null=True, blank=True)
    permissions = models.BigIntegerField(default=0)
    position = models.IntegerField(default=0)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "roles"
        constraints = [
            # One @everyone role per server.
            models.UniqueConstraint(
                fields=["server"], condition=models.Q(is_default=True), name="roles_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class MemberRole(models.Model):
    """An explicitly assigned role. Leaving, a kick and a ban delete the member's rows, so only
    members hold assigned roles."""

    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments")

    class Meta:
        db_table = "member_roles"
        constraints = [
            models.UniqueConstraint(fields=["server", "user", "role"], name="member_roles_unique")
        ]


class TargetType(models.TextChoices):
    ROLE = "role"
    MEMBER = "member"


class PermissionOverwrite(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey("chat.Channel", on_delete=models.CASCADE, related_name="overwrites")
    target_type = models.CharField(max_length=8, choices=TargetType.choices)
    target_id = models.UUIDField()
    allow_bits = models.BigIntegerField(default=0)
    deny_bits = models.BigIntegerField(default=0)

    class Meta:
        db_table = "channel_permission_overwrites"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "target_type", "target_id"], name="overwrites_unique"
            )
        ]
