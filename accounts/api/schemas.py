"""Request bodies of the account routes; types are strict (wrong type or missing -> 422)."""

from __future__ import annotations

from haven_site.api.fields import B64, Bool, ListOf, Str
from haven_site.api.parsing import Body


class RegisterBody(Body):
    username = Str()
    password = Str()
    display_name = Str(required=False, allow_null=True)
    email = Str(required=False, allow_null=True)
    identity_key = B64()
    signed_prekey = B64()
    signed_prekey_signature = B64()
    one_time_prekeys = ListOf(child=B64())
    pow_challenge = Str(required=False, allow_null=True)
    pow_nonce = Str(required=False, allow_null=True)
    invite_code = Str(required=False, allow_null=True)
    turnstile_token = Str(required=False, allow_null=True)


class LoginBody(Body):
    username = Str()
    password = Str()
    totp_code = Str(required=False, allow_null=True)
    # A port addition: the new password when an admin required a change (docs/moderation.md).
    new_password = Str(required=False, allow_null=True)


class RefreshBody(Body):
    refresh_token = Str()


class PasswordBody(Body):
    current_password = Str()
    new_password = Str()


class DeleteAccountBody(Body):
    password = Str()


class TotpCodeBody(Body):
    code = Str()


class SetAdminBody(Body):
    is_admin = Bool()
