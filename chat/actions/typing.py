"""``Typing`` (websocket.md 3.7): where a user's ``UserTyping`` goes, if anywhere.

It reaches a channel only from someone who can see it, may send messages there (SEND_MESSAGES:
typing in a channel one cannot write to would announce a message that cannot come) and is not
timed out in its server, and never reaches the people the typist blocked or who blocked them.
Anything else is dropped silently, as the spec drops typing it cannot deliver (no ``Error``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from accounts.actions.blocks import blocked_either_way_ids
from accounts.models import User
from chat.access import access_channel, is_timed_out
from chat.permissions import Permission
from haven_site.api.errors import ApiError
from realtime.events import Audience, to_channels


@dataclass(frozen=True)
class TypingTarget:
    audience: Audience
    username: str  # display name, else username (websocket.md 3.7)


def check_typing(user: User, channel_id: uuid.UUID) -> TypingTarget | None:
    try:
        access = access_channel(user.id, channel_id)
    except ApiError:
        return None
    if not access.has(Permission.SEND_MESSAGES):
        return None
    if is_timed_out(user.id, access.channel.server_id):
        return None
    audience = to_channels(channel_id).hiding(blocked_either_way_ids(user.id))
    return TypingTarget(audience, user.display_name or user.username)
