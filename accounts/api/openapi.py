"""The OpenAPI description of the account routes (api.md 2.1-2.5, 2.26): the shapes of
``accounts.shapes`` as components, and what each route takes and gives (haven_site.api.openapi).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from accounts.api import admin, auth, images, keys, users
from accounts.api.schemas import (
    DeleteAccountBody,
    LoginBody,
    PasswordBody,
    RefreshBody,
    RegisterBody,
    SetAdminBody,
    TotpCodeBody,
)
from haven_site.api.fields import B64, Bool, Int, Str, Timestamp, Uuid
from haven_site.api.openapi import (
    INTEGER,
    LIMIT,
    OFFSET,
    OK_TRUE,
    STRING,
    TIMESTAMP,
    UUID,
    Shape,
    annotate,
    const,
    message,
    nullable,
    obj,
    omitted,
    op,
    query,
)


# drf-spectacular's extension base registers subclasses in an untyped __init_subclass__.
class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


# --- Components (api.md 1.9) ---------------------------------------------------------------------


class UserSummary(Shape):
    """A user in lists of people (members, friends, blocks, voice rosters)."""

    user_id = Uuid()
    username = Str()
    display_name = nullable(Str)
    avatar_url = nullable(Str)


class UserPublic(Shape):
    id = Uuid()
    username = Str()
    display_name = nullable(Str)
    about_me = nullable(Str)
    avatar_url = nullable(Str)
    banner_url = nullable(Str)
    custom_status = nullable(Str)
    custom_status_emoji = nullable(Str)
    created_at = Timestamp()
    encrypted_profile = omitted(B64)
    is_instance_admin = omitted(Bool, help_text="Present (true) only for instance admins")
    totp_enabled = Bool()


class AuthResponse(Shape):
    access_token = Str()
    refresh_token = Str()
    user = UserPublic()


class SessionResponse(Shape):
    id = Uuid()
    family_id = nullable(Uuid)
    device_name = nullable(Str)
    ip_address = nullable(Str, help_text="Masked: a.b.x.x, or the text before the first ':'")
    last_activity = nullable(Timestamp)
    created_at = Timestamp()
    is_current = Bool()


class BlockedUserResponse(UserSummary):
    blocked_at = Timestamp()


class AdminUserResponse(Shape):
    id = Uuid()
    username = Str()
    display_name = nullable(Str)
    avatar_url = nullable(Str)
    created_at = Timestamp()
    is_instance_admin = Bool()
    server_count = Int(bits=64)


# --- Routes --------------------------------------------------------------------------------------

B64_TEXT = {"type": "string", "format": "byte"}
MESSAGE_ONLY = obj({"message": STRING})
LOGIN_ANSWER = {
    "oneOf": [
        {"$ref": "#/components/schemas/AuthResponse"},
        obj({"totp_required": const(True)}),
    ]
}
IMAGE = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/octet-stream")
RAW_IMAGE = "the image bytes (PNG, JPEG, GIF or WebP), at most 2 MiB"
AUTH_LIMITED = (429,)  # the auth-route limiter, on top of the global one

annotate(
    {
        auth.ChallengeView: {
            "get": op(
                obj(
                    {"challenge": STRING, "difficulty": INTEGER},
                    {"turnstile_site_key": STRING},
                ),
                errors=AUTH_LIMITED,
            )
        },
        auth.RegisterView: {"post": op(AuthResponse, body=RegisterBody, errors=(409,))},
        auth.LoginView: {"post": op(LOGIN_ANSWER, body=LoginBody, errors=(401, 403))},
        auth.RefreshView: {"post": op(AuthResponse, body=RefreshBody, errors=(401, 403, 404))},
        auth.LogoutView: {"post": op(message("Logged out"))},
        auth.PasswordView: {"put": op(message("Password changed"), body=PasswordBody)},
        auth.DeleteAccountView: {"post": op(None, body=DeleteAccountBody, status=204)},
        auth.TotpSetupView: {"post": op(obj({"secret": STRING, "qr_code_uri": STRING}))},
        auth.TotpVerifyView: {"post": op(message("TOTP verified and enabled"), body=TotpCodeBody)},
        auth.TotpView: {"delete": op(message("TOTP disabled"))},
        auth.SessionsView: {"get": op(SessionResponse(many=True))},
        auth.SessionView: {"delete": op(message("Session revoked"))},
        users.UserSearchView: {
            "get": op(
                UserPublic,
                params=[query("username", STRING, "Exact, case-insensitive", required=True)],
            )
        },
        users.MyProfileView: {"put": op(UserPublic, body=users.ProfileBody)},
        images.AvatarUploadView: {"post": op(UserPublic, raw_body=RAW_IMAGE)},
        images.BannerUploadView: {"post": op(UserPublic, raw_body=RAW_IMAGE)},
        images.AvatarView: {"get": op(media=IMAGE, errors=(404,))},
        images.BannerView: {"get": op(media=IMAGE, errors=(404,))},
        users.BlockView: {
            "post": op({"enum": [None], "nullable": True}),
            "delete": op({"enum": [None], "nullable": True}),
        },
        users.BlockedUsersView: {"get": op(BlockedUserResponse(many=True), params=[LIMIT, OFFSET])},
        users.ProfileKeysView: {
            "put": op(obj({"distributed": INTEGER}), body=users.ProfileKeysBody)
        },
        users.ProfileKeyView: {
            "get": op(obj({"from_user_id": UUID, "encrypted_profile_key": B64_TEXT}))
        },
        keys.UserKeysView: {
            "get": op(
                obj(
                    {
                        "identity_key": B64_TEXT,
                        "signed_prekey": B64_TEXT,
                        "signed_prekey_sig": B64_TEXT,
                        "one_time_prekey": {**B64_TEXT, "nullable": True},
                    }
                )
            )
        },
        keys.IdentityView: {"put": op(message("Keys updated"), body=keys.IdentityBody)},
        keys.PrekeysView: {
            "post": op(
                obj({"message": const("Prekeys uploaded"), "total_available": INTEGER}),
                body=keys.PrekeysBody,
            ),
            "delete": op(obj({"message": const("Unused prekeys cleared"), "deleted": INTEGER})),
        },
        keys.PrekeyCountView: {
            "get": op(obj({"count": INTEGER, "needs_replenishment": {"type": "boolean"}}))
        },
        keys.BackupView: {
            "put": op(OK_TRUE, body=keys.BackupBody),
            "get": op(
                obj(
                    {
                        "encrypted_data": B64_TEXT,
                        "nonce": B64_TEXT,
                        "salt": B64_TEXT,
                        "version": INTEGER,
                        "updated_at": TIMESTAMP,
                    }
                )
            ),
            "delete": op(OK_TRUE),
        },
        keys.BackupStatusView: {
            "get": op(
                obj(
                    {
                        "has_backup": {"type": "boolean"},
                        "version": {**INTEGER, "nullable": True},
                        "updated_at": {**TIMESTAMP, "nullable": True},
                    }
                )
            )
        },
        admin.AdminUsersView: {
            "get": op(
                AdminUserResponse(many=True),
                params=[
                    query("search", STRING, "Substring of the username or display name"),
                    LIMIT,
                    OFFSET,
                ],
            )
        },
        admin.AdminUserAdminFlagView: {
            "put": op(
                obj({"user_id": UUID, "is_instance_admin": {"type": "boolean"}}),
                body=SetAdminBody,
            )
        },
        admin.AdminUserView: {"delete": op(obj({"deleted": const(True), "user_id": UUID}))},
    }
)
