from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Ban(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(null=True, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "bans"
        constraints = [models.UniqueConstraint(fields=["server", "user"], name="bans_unique")]


class AuditLogEntry(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    server = models.ForeignKey("chat.Server", on_delete=models.CASCADE, related_name="audit_log")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=16, null=True, blank=True)
    target_id = models.UUIDField(null=True, blank=True)
    changes = models.JSONField(null=True, blank=True)
    reason = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "audit_log"
        indexes = [models.Index(fields=["server", "-created_at"], name="audit_log_by_time")]
        verbose_name = "server audit entry"
        verbose_name_plural = "server audit log"


class ReportStatus(models.TextChoices):
    PENDING = "pending"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class ReportOutcome(models.TextChoices):
    """What an admin's decision did (docs/moderation.md); ``status`` stays the spec's column."""

    DISMISSED = "dismissed"
    RESOLVED = "resolved"
    MESSAGE_DELETED = "message_deleted"
    AUTHOR_TIMED_OUT = "author_timed_out"
    AUTHOR_BANNED = "author_banned"
    AUTHOR_SUSPENDED = "author_suspended"


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message_id = models.UUIDField()
    channel_id = models.UUIDField()
    reason = models.TextField()
    # The message's sender when it was reported (the server knows it; clients never see it), so
    # that the author can still be acted on after the message is gone.
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What the reporter chose to share of the end-to-end-encrypted message, stored as given: the
    # server cannot check it against the ciphertext.
    reporter_content = models.TextField(null=True, blank=True)
    reporter_attachment_names = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=24, choices=ReportOutcome.choices, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ReportStatus.choices, default=ReportStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "reports"

    def __str__(self) -> str:
        reason = self.reason if len(self.reason) <= 60 else self.reason[:59] + "…"
        return f"Report: {reason}"
