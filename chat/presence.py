"""Presence: who is online, and the PresenceUpdate events that tell everyone who can see them.

Statuses live in the gateway's registry (Redis when configured, with a TTL that live connections
refresh, so a crashed instance cannot leave a user online; process memory on the embedded
default). The gateway sets them on connect, SetStatus and the last disconnect anywhere in the
cluster; REST logout and account deletion end them here.
"""

from __future__ import annotations

import uuid

from accounts.actions.blocks import blocked_either_way_ids
from accounts.hooks import LoginSessionEnded, SignedOut
from chat.models import ChannelMember, ServerMember
from realtime.events import Audience, control, publish, to_channels, to_servers, to_users
from realtime.registry import get_registry

VISIBLE = ("online", "idle", "dnd")
STATUSES = ("online", "idle", "dnd", "invisible")


def stored_status(user_id: uuid.UUID) -> str | None:
    found: str | None = get_registry().get_statuses([str(user_id)])[0]
    return found


def wire_status(stored: str | None) -> str:
    """``invisible`` and unknown users read as ``offline`` (api.md 2.23)."""
    return stored if stored in VISIBLE else "offline"


def statuses(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = get_registry().get_statuses([str(u) for u in user_ids])
    return {u: wire_status(s) for u, s in zip(user_ids, found, strict=True)}


def audience_of(user_id: uuid.UUID) -> Audience:
    """Everyone who can see this user's presence: subscribers of every channel the user can
    access, i.e. the user's servers and the user's DM and group channels, except the people
    the user blocked or who blocked the user."""
    servers = ServerMember.objects.filter(user_id=user_id).values_list("server_id", flat=True)
    direct = ChannelMember.objects.filter(
        user_id=user_id, channel__server__isnull=True
    ).values_list("channel_id", flat=True)
    audience = to_servers(*servers) | to_channels(*direct)
    return audience.hiding(blocked_either_way_ids(user_id))


def presence_frame_payload(user_id: uuid.UUID | str, stored: str | None) -> dict[str, str]:
    return {"user_id": str(user_id), "status": wire_status(stored)}


def user_signed_out(change: SignedOut) -> None:
    """Logout, password change, token reuse or account deletion (the ``signed_out`` hook): every
    login session of the user ended, so the user goes offline everywhere at once and its open
    sockets (whose tokens no longer work) are closed. Voice is left by voice's own handler."""
    user_id = change.user_id
    get_registry().delete_status(str(user_id))
    publish("PresenceUpdate", presence_frame_payload(user_id, None), audience_of(user_id))
    control("close", to_users(user_id), code=1008, announce=False)


def login_session_ended(change: LoginSessionEnded) -> None:
    """One login session was revoked (``DELETE /auth/sessions/{id}``, the admin): the sockets
    opened with its tokens close (1008) on every instance; the user stays online if other
    connections remain, else goes offline as on any last disconnect."""
    audience = to_users(change.user_id)
    control("close", audience, code=1008, login_session=str(change.login_session))
