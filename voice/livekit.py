"""LiveKit: access tokens for clients, and the RoomService calls that enforce server mute/deafen.

One LiveKit room per Haven channel, named by the channel id (operations.md 6.2). Tokens are minted
with the livekit-api SDK; the RoomService is reached over its Twirp API with a short timeout, and
failures there are logged, never shown to the moderator (the state and events already changed).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import aiohttp
from asgiref.sync import async_to_sync
from django.conf import settings
from livekit import api

from accounts.models import User

logger = logging.getLogger("haven.voice.livekit")

TOKEN_TTL = timedelta(hours=6)
API_TIMEOUT = 5.0


def mint_token(
    user: User, channel_id: uuid.UUID, *, can_publish: bool = True, can_subscribe: bool = True
) -> str:
    """The client's join token: identity = user id, name = display name or username, room =
    channel id, 6 hours. A server-muted user gets ``canPublish: false``, a server-deafened one
    ``canSubscribe: false``, so LiveKit itself enforces both from the first packet."""
    config = settings.HAVEN
    grants = api.VideoGrants(
        room_join=True,
        room=str(channel_id),
        can_publish=can_publish,
        can_subscribe=can_subscribe,
        can_publish_data=True,
    )
    return (
        api.AccessToken(config.livekit_api_key, config.livekit_api_secret)
        .with_identity(str(user.id))
        .with_name(user.shown_name)
        .with_ttl(TOKEN_TTL)
        .with_grants(grants)
        .to_jwt()
    )


def _not_found(error: api.ServerError) -> bool:
    return error.status == 404 or error.code == api.ServerErrorCode.NOT_FOUND


async def _enforce(room: str, identity: str, *, muted: bool, deafened: bool) -> None:
    config = settings.HAVEN
    async with api.LiveKitAPI(
        config.livekit_url,
        config.livekit_api_key,
        config.livekit_api_secret,
        timeout=aiohttp.ClientTimeout(total=API_TIMEOUT),
        failover=False,
    ) as livekit:
        try:
            if muted:
                # Silence what is being published now, then take away the right to publish.
                participant = await livekit.room.get_participant(
                    api.RoomParticipantIdentity(room=room, identity=identity)
                )
                for track in participant.tracks:
                    if track.type == api.TrackType.AUDIO and not track.muted:
                        await livekit.room.mute_published_track(
                            api.MuteRoomTrackRequest(
                                room=room, identity=identity, track_sid=track.sid, muted=True
                            )
                        )
            await livekit.room.update_participant(
                api.UpdateParticipantRequest(
                    room=room,
                    identity=identity,
                    permission=api.ParticipantPermission(
                        can_publish=not muted,
                        can_subscribe=not deafened,
                        can_publish_data=True,
                    ),
                )
            )
        except api.ServerError as error:
            if not _not_found(error):
                raise
            # Not connected to the room right now: the next token carries the restriction.
            logger.info("Voice participant not in LiveKit room; nothing to enforce now")


def enforce_moderation(
    channel_id: uuid.UUID, user_id: uuid.UUID, *, muted: bool, deafened: bool
) -> bool:
    """Apply server mute/deafen in LiveKit now (best effort). True when LiveKit confirmed it."""
    try:
        async_to_sync(_enforce)(str(channel_id), str(user_id), muted=muted, deafened=deafened)
    except Exception as error:  # LiveKit down or slow must not fail the request
        logger.warning("LiveKit did not apply server mute/deafen: %s", type(error).__name__)
        return False
    return True
