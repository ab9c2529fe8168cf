from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Greatest, Least


class FriendshipStatus(models.TextChoices):
    PENDING = "pending"
    ACCEPTED = "accepted"


class Friendship(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    addressee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=FriendshipStatus.choices, default=FriendshipStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "friendships"
        constraints = [
            # One row per pair in either direction, even under two simultaneous requests.
            models.UniqueConstraint(
                Least("requester", "addressee"),
                Greatest("requester", "addressee"),
                name="friendships_one_per_pair",
            ),
            models.CheckConstraint(
                condition=~models.Q(requester=models.F("addressee")), name="friendships_not_self"
            ),
        ]
