"""What accounts tells the apps above it (``haven_site.hooks``): accounts imports none of them.

Chat, voice and invites connect their handlers in their ``AppConfig.ready()``:

* ``registering`` / ``registered``: a registration, inside its transaction, before and after the
  account is created (invites: the invite-only check, spending the code, granting new codes);
* ``user_leaving`` then ``user_deleting``: an account is being deleted, inside the transaction,
  before its row goes. ``user_leaving`` comes first, while every membership still exists, for
  what others must be told (chat: "Account deleted" to the user's sockets; voice: leave voice);
  ``user_deleting`` then removes what the user owns elsewhere (chat: owned servers, attachments,
  then "offline" to the watchers and the sockets closed);
* ``signed_out``: every login session of a user ended, after commit (chat: offline, close the
  sockets; voice: leave voice, and the LiveKit room);
* ``login_session_ended``: one login session was revoked, after commit (chat: close the sockets
  opened with it; voice: leave the call joined from it);
* ``user_blocked``: a block, inside its transaction (chat: end the friendship);
* ``identity_key_changed``: a new identity key, inside the transaction (chat: drop the sender keys
  sealed to the old one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from accounts.models import User
from haven_site.hooks import Hook


@dataclass(frozen=True)
class Registering:
    """A registration about to create an account (under the registration lock). A handler may
    refuse it by raising an ``ApiError``."""

    invite_code: str | None
    first_user: bool  # the instance's first account (its admin)


@dataclass(frozen=True)
class Registered:
    """The account a registration created, in the same transaction."""

    user: User
    invite_code: str | None
    first_user: bool


@dataclass(frozen=True)
class UserDeleting:
    """An account being deleted (``user_leaving``, then ``user_deleting``)."""

    user: User


@dataclass(frozen=True)
class SignedOut:
    user_id: uuid.UUID


@dataclass(frozen=True)
class LoginSessionEnded:
    user_id: uuid.UUID
    login_session: uuid.UUID


@dataclass(frozen=True)
class UserBlocked:
    blocker: User
    blocked_id: uuid.UUID


@dataclass(frozen=True)
class IdentityKeyChanged:
    user_id: uuid.UUID


registering: Hook[Registering] = Hook("accounts.registering")
registered: Hook[Registered] = Hook("accounts.registered")
user_leaving: Hook[UserDeleting] = Hook("accounts.user_leaving")
user_deleting: Hook[UserDeleting] = Hook("accounts.user_deleting")
signed_out: Hook[SignedOut] = Hook("accounts.signed_out")
login_session_ended: Hook[LoginSessionEnded] = Hook("accounts.login_session_ended")
user_blocked: Hook[UserBlocked] = Hook("accounts.user_blocked")
identity_key_changed: Hook[IdentityKeyChanged] = Hook("accounts.identity_key_changed")
