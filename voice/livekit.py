"""LiveKit: access tokens for clients, and the RoomService calls that enforce server mute/deafen
and take out participants whose access ended.

One LiveKit room per Haven channel, named by the channel id (operations.md 6.2). Tokens are minted
with the livekit-api SDK; the RoomService is reached over its Twirp API with a short timeout, and
failures there are logged, never shown to the moderator (the state and events already changed).
The SDK is imported on first use: with protobuf and aiohttp it adds some 40 MB to a process.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from django.conf import settings

from accounts.models import User

if TYPE_CHECKING:
    from livekit import api

logger = logging.getLogger("haven.voice.livekit")

API_TIMEOUT = 5.0


def mint_token(
    user: User, channel_id: uuid.UUID, *, can_publish: bool = True, can_subscribe: bool = True
) -> str:
    """The client's join token: identity = user id, name = display name or username, room =
    channel id, valid ``LIVEKIT_TOKEN_TTL_SECS`` (minutes: LiveKit cannot revoke a token, so a
    participant it removed can rejoin with it until it expires; the client renews it while it
    stays allowed). A server-muted user gets ``canPublish: false``, a server-deafened one
    ``canSubscribe: false``, so LiveKit itself enforces both from the first packet."""
    from livekit import api

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
        .with_ttl(timedelta(seconds=config.livekit_token_ttl_secs))
        .with_grants(grants)
        .to_jwt()
    )


def _not_found(error: api.ServerError) -> bool:
    from livekit import api

    return error.status == 404 or error.code == api.ServerErrorCode.NOT_FOUND


def _client() -> api.LiveKitAPI:
    import aiohttp
    from livekit import api

    config = settings.HAVEN
    return api.LiveKitAPI(
        config.livekit_url,
        config.livekit_api_key,
        config.livekit_api_secret,
        timeout=aiohttp.ClientTimeout(total=API_TIMEOUT),
        failover=False,
    )


async def _enforce(room: str, identity: str, *, muted: bool, deafened: bool) -> None:
    from livekit import api

    async with _client() as livekit:
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


async def _remove(participants: list[tuple[str, str]]) -> int:
    """How many LiveKit confirmed; one refusal does not stop the others (a transport failure
    does: the rest would only wait for the same timeout)."""
    from livekit import api

    confirmed = 0
    async with _client() as livekit:
        for room, identity in participants:
            try:
                await livekit.room.remove_participant(
                    api.RoomParticipantIdentity(room=room, identity=identity)
                )
            except api.ServerError as error:
                if not _not_found(error):  # not connected to the room is as good as removed
                    logger.warning("LiveKit did not remove a participant: %s", error.code)
                    continue
            confirmed += 1
    return confirmed


def remove_participants(participants: list[tuple[uuid.UUID, uuid.UUID]]) -> bool:
    """Take each (channel id, user id) out of its LiveKit room now (best effort, after the
    access change committed). True when LiveKit confirmed every one of them."""
    pairs = [(str(room), str(identity)) for room, identity in participants]
    try:
        return async_to_sync(_remove)(pairs) == len(pairs)
    except Exception as error:  # LiveKit down or slow must not fail the moderator's request
        logger.warning("LiveKit did not remove voice participants: %s", type(error).__name__)
        return False
