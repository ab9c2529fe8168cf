"""Registration, login and account lifecycle (api.md 2.1, operations.md 2.7-2.11)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from accounts import hooks, pow, totp, turnstile
from accounts.actions.sessions import (
    Tokens,
    check_not_suspended,
    do_end_all_sessions,
    do_start_session,
)
from accounts.models import PreKey, User
from accounts.passwords import burn_verification_time, hash_password
from accounts.validation import check_display_name, check_password_length, check_username
from haven_site.api.encoding import b64decode_strict, decode_b64
from haven_site.api.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)

MAX_REGISTRATION_PREKEYS = 100
_REGISTRATION_LOCK = 0x48415645  # "HAVE": serialises registrations on PostgreSQL


@dataclass(frozen=True)
class Client:
    """Where a request came from, for session metadata."""

    user_agent: str | None
    ip: str | None


def email_hash(email: str) -> str:
    """HMAC-SHA256 of the trimmed, lower-cased address, keyed with JWT_SECRET (ops 2.4)."""
    key = settings.HAVEN.jwt_secret.encode()
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def check_register(body: dict[str, Any]) -> None:
    """Steps 1-4 of registration that need no database: fields, proof of work, Turnstile."""
    check_username(body["username"])
    check_password_length(body["password"])
    check_display_name(body.get("display_name"))
    if pow.enabled():
        challenge, nonce = body.get("pow_challenge"), body.get("pow_nonce")
        if challenge is None or nonce is None:
            missing = "pow_challenge" if challenge is None else "pow_nonce"
            raise ApiError(
                f"Failed to deserialize the JSON body into the target type: {missing}: "
                "missing field",
                422,
            )
        if not pow.consume_challenge(challenge):
            raise BadRequest(
                "Invalid or expired PoW challenge — request a new one from /auth/challenge"
            )
        if not pow.solution_valid(challenge, nonce, pow.difficulty()):
            raise BadRequest("Invalid Proof-of-Work solution")
    if settings.HAVEN.turnstile_enabled:
        token = body.get("turnstile_token")
        if not token:
            raise BadRequest("CAPTCHA token required")
        try:
            verified = turnstile.verify(token)
        except turnstile.TurnstileUnavailable:
            raise ApiError("Internal server error", 500) from None
        if not verified:
            raise BadRequest("CAPTCHA verification failed — please try again")


def _decode_prekeys(prekeys: list[str]) -> tuple[list[bytes], str | None]:
    if len(prekeys) > MAX_REGISTRATION_PREKEYS:
        return [], f"Maximum {MAX_REGISTRATION_PREKEYS} prekeys per upload"
    decoded: list[bytes] = []
    for index, text in enumerate(prekeys):
        raw = b64decode_strict(text)
        if raw is None:
            return [], f"Invalid prekey encoding at index {index}"
        decoded.append(raw)
    return decoded, None


def do_register(body: dict[str, Any], client: Client) -> tuple[User, Tokens]:
    """Create the account, all or nothing. The first user of an instance becomes its admin; the
    ``registering`` and ``registered`` hooks (invites: invite-only mode) may refuse the others
    and do their part in the same transaction."""
    password_hash = hash_password(body["password"])  # the slow part, outside the lock
    invite_code = body.get("invite_code")
    with transaction.atomic():
        _lock_registrations()
        first_user = not User.objects.exists()
        hooks.registering.send(hooks.Registering(invite_code, first_user))
        identity_key = decode_b64(body["identity_key"], "Invalid identity_key encoding")
        signed_prekey = decode_b64(body["signed_prekey"], "Invalid signed_prekey encoding")
        signature = decode_b64(
            body["signed_prekey_signature"], "Invalid signed_prekey_signature encoding"
        )
        prekeys, prekey_error = _decode_prekeys(body["one_time_prekeys"])
        if User.objects.filter(username__iexact=body["username"]).exists():
            raise Conflict("Username already taken")
        if prekey_error:
            raise BadRequest(prekey_error)
        user = User(
            username=body["username"],
            password=password_hash,
            display_name=body.get("display_name"),
            email_hash=email_hash(body["email"]) if body.get("email") else None,
            identity_key=identity_key,
            signed_prekey=signed_prekey,
            signed_prekey_sig=signature,
            is_instance_admin=first_user,
        )
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            raise Conflict("Username already taken") from None
        PreKey.objects.bulk_create(
            PreKey(user=user, key_id=index, public_key=key) for index, key in enumerate(prekeys)
        )
        hooks.registered.send(hooks.Registered(user, invite_code, first_user))
        tokens = do_start_session(user, user_agent=client.user_agent, ip=client.ip)
    # The answer shows the row as inserted: no is_instance_admin (docs/decisions.md).
    user.is_instance_admin = False
    return user, tokens


def _lock_registrations() -> None:
    """Two first registrations must not both become admin, nor two users spend one code."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGISTRATION_LOCK])
    # SQLite: the IMMEDIATE transaction already holds the database's single write lock.


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    tokens: Tokens | None

    @property
    def totp_required(self) -> bool:
        return self.tokens is None


# Error texts, not secrets.
PASSWORD_CHANGE_CODE = "password_change_required"  # noqa: S105
PASSWORD_CHANGE_REQUIRED = "Password change required: sign in again with a new_password"  # noqa: S105


def _check_new_password(user: User, password: str, new_password: str | None) -> str:
    """An admin required a new password: the login must bring a valid, different one."""
    from accounts.validation import check_new_password

    if new_password is None:
        raise Forbidden(PASSWORD_CHANGE_REQUIRED, extra={"code": PASSWORD_CHANGE_CODE})
    check_new_password(new_password)
    if new_password == password:
        raise BadRequest("New password must differ from the current one")
    return new_password


def do_login(
    username: str,
    password: str,
    totp_code: str | None,
    client: Client,
    new_password: str | None = None,
) -> LoginResult:
    """api.md 2.1, plus the moderation desk's checks after the password (docs/moderation.md):
    a required password change is asked for before the TOTP code is spent, a suspension is
    told only after the second factor, and the new password is set only on a full success."""
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        burn_verification_time(password)
        raise Unauthorized("Invalid username or password")
    if not user.check_password(password):
        raise Unauthorized("Invalid username or password")
    replacement = None
    if user.password_change_required:
        replacement = _check_new_password(user, password, new_password)
    if user.totp_secret is not None:
        if totp_code is None:
            return LoginResult(user=None, tokens=None)
        check_totp_code(user, totp_code)
    check_not_suspended(user)
    with transaction.atomic():
        if replacement is not None:
            user.set_password(replacement)
            user.password_change_required = False
            user.save(update_fields=["password", "password_change_required", "updated_at"])
        tokens = do_start_session(user, user_agent=client.user_agent, ip=client.ip)
    return LoginResult(user, tokens)


def check_totp_code(user: User, code: str) -> None:
    """The active secret's code for now (one step of skew), not used before: a code is good once."""
    assert user.totp_secret is not None
    step = totp.matching_step(totp.open_secret(user.totp_secret), code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise Unauthorized("Invalid TOTP code")
    updated = User.objects.filter(pk=user.pk, totp_last_step=user.totp_last_step).update(
        totp_last_step=step
    )
    if not updated:  # a concurrent login spent the same code first
        raise Unauthorized("Invalid TOTP code")
    user.totp_last_step = step


def do_logout(user: User) -> None:
    """Ends every session of the user (all refresh-token families); their access tokens stop
    working too. Presence goes offline and voice is left (after commit)."""
    with transaction.atomic():
        do_end_all_sessions(user)


def do_change_password(user: User, current: str, new: str) -> None:
    from accounts.validation import check_new_password

    check_new_password(new)
    if not user.check_password(current):
        raise Unauthorized("Current password is incorrect")
    with transaction.atomic():
        user.set_password(new)
        user.password_change_required = False
        user.save(update_fields=["password", "password_change_required", "updated_at"])
        do_end_all_sessions(user)


def do_delete_account(user: User, password: str) -> None:
    """Everything the user owns goes: owned servers (with their content), messages, reactions,
    sessions, keys; then open sockets get ``Error "Account deleted"`` and are closed."""

    if not user.check_password(password):
        raise Unauthorized("Incorrect password")
    do_delete_user(user)


def do_delete_user(user: User) -> None:
    """Account deletion, for the user themself or an instance admin, with the same cleanup
    (docs/decisions.md, "Accounts and sign-in"). The other apps do their part
    through the ``user_leaving`` and ``user_deleting`` hooks (``accounts.hooks``)."""
    from accounts.actions.images import delete_profile_images_on_commit

    deleting = hooks.UserDeleting(user)
    with transaction.atomic():
        hooks.user_leaving.send(deleting)
        do_end_all_sessions(user)
        hooks.user_deleting.send(deleting)
        delete_profile_images_on_commit(user.id)
        deleted, _ = type(user).objects.filter(pk=user.pk).delete()
        if not deleted:
            raise NotFound("User not found")
