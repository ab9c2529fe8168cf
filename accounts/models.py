"""Accounts: users, their login sessions (refresh-token families), and their key material.

Table names follow the spec's data model (api.md section 4) so that SQL, backups and the spec
read alike. Every encrypted or key field is opaque bytes: the server stores and returns them.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class DmPrivacy(models.TextChoices):
    EVERYONE = "everyone"
    FRIENDS_ONLY = "friends_only"
    SERVER_MEMBERS = "server_members"


def not_suspended() -> Q:
    """Users who may sign in now: never suspended, or their suspension has ended."""
    return Q(suspended_at__isnull=True) | Q(suspended_until__lte=timezone.now())


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)

    def signed_in(self, user_id: uuid.UUID, session_id: uuid.UUID) -> User | None:
        """The user behind a login session, in one query: the session lives and the user is
        not suspended (a token of a suspended user fails even if a session survived)."""
        return self.filter(not_suspended(), id=user_id, device_sessions__id=session_id).first()


class User(AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(max_length=32)
    display_name = models.TextField(null=True, blank=True)
    email_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    identity_key = models.BinaryField(default=b"")
    signed_prekey = models.BinaryField(default=b"")
    signed_prekey_sig = models.BinaryField(default=b"")
    # TOTP secrets are encrypted at rest (accounts.totp).
    totp_secret = models.BinaryField(null=True, editable=False)
    pending_totp_secret = models.BinaryField(null=True, editable=False)
    pending_totp_created_at = models.DateTimeField(null=True, editable=False)
    totp_last_step = models.BigIntegerField(null=True, editable=False)
    about_me = models.TextField(null=True, blank=True)
    custom_status = models.TextField(null=True, blank=True)
    custom_status_emoji = models.TextField(null=True, blank=True)
    has_avatar = models.BooleanField(default=False)
    has_banner = models.BooleanField(default=False)
    encrypted_profile = models.BinaryField(null=True, editable=False)
    dm_privacy = models.CharField(
        max_length=16, choices=DmPrivacy.choices, default=DmPrivacy.FRIENDS_ONLY
    )
    is_instance_admin = models.BooleanField(default=False)
    # Instance moderation (docs/moderation.md): suspended from ``suspended_at`` until
    # ``suspended_until`` (forever when null) or until an admin lifts it.
    suspended_at = models.DateTimeField(null=True, blank=True, editable=False)
    suspended_until = models.DateTimeField(null=True, blank=True, editable=False)
    suspension_reason = models.TextField(null=True, blank=True, editable=False)
    # Set by an admin: the next sign-in must choose a new password (login's ``new_password``).
    password_change_required = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        db_table = "users"
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    # Passwords are Argon2id PHC strings, exactly the spec's format (operations.md 2.3).
    def set_password(self, raw_password: str | None) -> None:
        from accounts.passwords import hash_password

        self.password = hash_password(raw_password or "")
        self._password = raw_password

    def check_password(self, raw_password: str) -> bool:
        from accounts.passwords import needs_rehash, verify_password

        if not verify_password(self.password, raw_password):
            return False
        if needs_rehash(self.password) and self.pk:
            self.set_password(raw_password)
            type(self).objects.filter(pk=self.pk).update(password=self.password)
        return True

    # Django admin access is instance-admin access.
    @property
    def is_staff(self) -> bool:
        return self.is_instance_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_instance_admin

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_instance_admin

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_instance_admin

    @property
    def is_suspended(self) -> bool:
        if self.suspended_at is None:
            return False
        return self.suspended_until is None or self.suspended_until > timezone.now()

    # Django's admin and its sign-in form refuse inactive users: a suspension ends admin access.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return not self.is_suspended

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def shown_name(self) -> str:
        """What other users see: the display name, else the username."""
        return self.display_name or self.username


class DeviceSession(models.Model):
    """One login on one device: a refresh-token family (operations.md 2.10-2.13).

    Access tokens carry the session id, and authentication checks that the session still exists,
    so logging out, changing the password or revoking a session also ends its access tokens.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_sessions")
    device_name = models.CharField(max_length=64, null=True, blank=True)
    # Stored already masked ("a.b.x.x"): the raw address is never kept.
    ip_address = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_activity = models.DateTimeField(null=True)

    class Meta:
        db_table = "device_sessions"

    def __str__(self) -> str:
        return f"{self.user_id} / {self.device_name or 'unknown device'}"


class RefreshToken(models.Model):
    """A refresh token of a family; only its SHA-256 is kept. Rotated tokens stay as revoked
    rows until they expire, so that a replay is recognised and revokes the family."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(DeviceSession, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        db_table = "refresh_tokens"


class PreKey(models.Model):
    """A one-time prekey; each is handed out at most once (accounts.actions.keys)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="prekeys")
    key_id = models.IntegerField()
    public_key = models.BinaryField()
    used = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "prekeys"
        indexes = [models.Index(fields=["user", "used", "created_at"], name="prekeys_unused")]


class KeyBackup(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="key_backup")
    encrypted_data = models.BinaryField()
    nonce = models.BinaryField()
    salt = models.BinaryField()
    version = models.IntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "key_backups"


class BlockedUser(models.Model):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks_received")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "blocked_users"
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="blocked_users_unique")
        ]


class ProfileKeyDistribution(models.Model):
    from_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    to_user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    encrypted_profile_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "profile_key_distributions"
        constraints = [
            models.UniqueConstraint(fields=["from_user", "to_user"], name="profile_keys_unique")
        ]


class AuditVia(models.TextChoices):
    ADMIN = "admin", "Django admin"
    API = "api", "admin API"
    COMMAND = "command", "management command"


class InstanceAuditEntry(models.Model):
    """One thing an instance admin did (docs/moderation.md): who, what, when, why, to what.

    Written by every instance-admin action, whether from the Django admin, the admin API or a
    management command, and never changed afterwards. Servers keep their own audit logs
    (``chat.AuditLogEntry``); this one is the instance's. Targets are kept by id and by a label
    taken at the time, so the entry still reads well after the target is deleted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    via = models.CharField(max_length=8, choices=AuditVia.choices)
    action = models.CharField(max_length=40, db_index=True)
    target_type = models.CharField(max_length=16)
    target_id = models.UUIDField(null=True, blank=True)
    target_label = models.CharField(max_length=200, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(null=True, blank=True)

    class Meta:
        db_table = "instance_audit_log"
        verbose_name = "instance audit entry"
        verbose_name_plural = "instance audit log"

    def __str__(self) -> str:
        return f"{self.actor_name}: {self.action} {self.target_label}".strip()
