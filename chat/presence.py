"""Presence: who is online, and the PresenceUpdate events that tell everyone who can see them.

Statuses live in the cache (Redis when configured) so that every instance agrees. The gateway
(chat.gateway) sets them on connect, SetStatus and the last disconnect; REST logout and account
deletion end them here.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache

from chat.events import Audience, publish, to_channels, to_servers

VISIBLE = ("online", "idle", "dnd")


def _key(user_id: uuid.UUID) -> str:
    return f"presence:{user_id}"


def stored_status(user_id: uuid.UUID) -> str | None:
    value = cache.get(_key(user_id))
    return value if isinstance(value, str) else None


def wire_status(stored: str | None) -> str:
    """``invisible`` and unknown users read as ``offline`` (api.md 2.23)."""
    return stored if stored in VISIBLE else "offline"


def statuses(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    found = cache.get_many([_key(u) for u in user_ids]) if user_ids else {}
    return {u: wire_status(found.get(_key(u))) for u in user_ids}


def audience_of(user_id: uuid.UUID) -> Audience:
    """Everyone who can see this user's presence: subscribers of every channel the user can
    access, i.e. the user's servers and the user's DM and group channels."""
    from chat.models import ChannelMember, ServerMember

    servers = ServerMember.objects.filter(user_id=user_id).values_list("server_id", flat=True)
    direct = ChannelMember.objects.filter(
        user_id=user_id, channel__server__isnull=True
    ).values_list("channel_id", flat=True)
    return to_servers(*servers) | to_channels(*direct)


def user_signed_out(user_id: uuid.UUID) -> None:
    """Logout, token reuse or account deletion: the user goes offline everywhere at once, and
    leaves voice (VoiceStateUpdate ``joined: false``), as the original does on logout."""
    from voice.actions import leave_all

    cache.delete(_key(user_id))
    publish("PresenceUpdate", {"user_id": str(user_id), "status": "offline"}, audience_of(user_id))
    leave_all(user_id)
