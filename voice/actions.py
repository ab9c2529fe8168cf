"""Voice channels through LiveKit (api.md 2.20, operations.md 6): join, token renewal, leave,
rosters, server mute and deafen, the cleanup that logout, account deletion and the last disconnect
run, and the removal of participants whose access ended (``revoke_lost_access``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.hooks import LoginSessionEnded, SignedOut, UserDeleting
from accounts.models import User
from accounts.shapes import user_summary
from chat.access import (
    NOT_CHANNEL_MEMBER,
    ChannelAccess,
    access_channel,
    channel_access,
    channel_reader_ids,
    check_not_timed_out,
    may_stay_in_voice,
)
from chat.hooks import AccessChange
from chat.models import Channel, ChannelMember, ChannelType, ServerMember
from chat.permissions import Permission
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from realtime.events import Audience, publish, to_channels, to_servers, to_users
from voice import livekit, state
from voice.calls import check_dm_call

VOICE_TYPES = (ChannelType.VOICE, ChannelType.DM, ChannelType.GROUP)
NOT_CONFIGURED = "Voice chat is not configured"
NOT_SEATED = "You are not in this voice channel"
MISSING_MUTE = "Missing MUTE_MEMBERS permission"


def voice_audience(channel: Channel, user_id: uuid.UUID) -> Audience:
    """websocket.md 4.4: a server channel's voice events reach every connection subscribed to
    the server (once each); a DM/group's reach its subscribers and the other members. A server
    channel hidden from some members (chat.access decides) tells only those who can see it."""
    if channel.server_id is None:
        others = ChannelMember.objects.filter(channel=channel).exclude(user_id=user_id)
        return to_channels(channel.id) | to_users(others.values_list("user_id", flat=True))
    readers = channel_reader_ids(channel)
    if len(readers) >= ServerMember.objects.filter(server_id=channel.server_id).count():
        return to_servers(channel.server_id)
    return to_channels(channel.id) | to_users(readers)


def _state_event(
    channel: Channel,
    user: User | None,
    user_id: uuid.UUID,
    joined: bool,
    *,
    audience: Audience | None = None,
) -> None:
    if user is None:
        return  # the spec sends nothing for a user it cannot look up
    publish(
        "VoiceStateUpdate",
        {
            "channel_id": str(channel.id),
            "user_id": str(user_id),
            "username": user.shown_name,
            "joined": joined,
        },
        voice_audience(channel, user_id) if audience is None else audience,
    )


def _announce_leave(seat: state.Seat, user_id: uuid.UUID, user: User | None) -> None:
    channel = Channel.objects.filter(id=seat.channel_id).first()
    if channel is not None:
        _state_event(channel, user, user_id, joined=False)


def _check_voice_access(user: User, channel_id: uuid.UUID) -> ChannelAccess:
    """Join and token renewal: configured, channel exists, access (VIEW_CHANNELS for a server
    channel, membership for a DM/group), voice-capable type, not timed out in the server, and in
    a one-to-one DM no block either way and no unanswered or declined request."""
    if not settings.HAVEN.voice_enabled:
        raise BadRequest(NOT_CONFIGURED)
    access = access_channel(user.id, channel_id, missing_channel="Channel not found")
    channel = access.channel
    if channel.channel_type not in VOICE_TYPES:
        raise BadRequest("Channel does not support voice")
    check_not_timed_out(user.id, channel.server_id)
    if channel.server_id is None:
        check_dm_call(user.id, channel)
    return access


def _grant(user: User, channel: Channel) -> dict[str, Any]:
    flags = state.moderation(channel.server_id, [user.id])[user.id]
    try:
        token = livekit.mint_token(
            user, channel.id, can_publish=not flags.muted, can_subscribe=not flags.deafened
        )
    except Exception as error:  # the spec reports the SDK's reason
        raise BadRequest(f"Failed to generate voice token: {error}") from None
    url = settings.HAVEN.livekit_client_url
    return {"token": token, "url": url, "channel_id": str(channel.id)}


def do_join(user: User, channel_id: uuid.UUID) -> dict[str, Any]:
    """POST /voice/{id}/join (checks: ``_check_voice_access``)."""
    channel = _check_voice_access(user, channel_id).channel
    grant = _grant(user, channel)
    with transaction.atomic():
        login_session = getattr(user, "session_id", None)  # set by the bearer authentication
        previous = state.join(user.id, channel.id, channel.server_id, login_session)
        if previous is not None:
            _announce_leave(previous, user.id, user)
        _state_event(channel, user, user.id, joined=True)
    return grant


def do_renew_token(user: User, channel_id: uuid.UUID) -> dict[str, Any]:
    """POST /voice/{id}/token (added by this port): a fresh short-lived token for a user still
    in this voice channel who may still be there (the join checks again), without a new
    VoiceStateUpdate. ``403 You are not in this voice channel`` once they left or were taken
    out; the client then leaves the LiveKit room."""
    channel = _check_voice_access(user, channel_id).channel
    if not state.keep_seat(user.id, channel.id):
        raise Forbidden(NOT_SEATED)
    return _grant(user, channel)


def do_leave(user: User, channel_id: uuid.UUID) -> None:
    """POST /voice/{id}/leave: no checks; a leave event only if the user was in it."""
    with transaction.atomic():
        seat = state.leave(user.id, channel_id)
        if seat is not None:
            _announce_leave(seat, user.id, user)


def leave_all(
    user_id: uuid.UUID, *, hang_up: bool = False, login_session: uuid.UUID | None = None
) -> None:
    """Take a user out of voice everywhere (logout, account deletion, last disconnect), with a
    ``joined: false`` event for each channel left. Safe to call when not in voice.
    ``hang_up``: access ended, so the LiveKit room drops them too (their token may still be
    valid for minutes). ``login_session``: only a seat taken from that sign-in."""
    seats = state.leave_all(user_id, login_session=login_session)
    if not seats:
        return
    user = User.objects.filter(id=user_id).first()
    for seat in seats:
        _announce_leave(seat, user_id, user)
    if hang_up and settings.HAVEN.voice_enabled:
        pairs = [(seat.channel_id, user_id) for seat in seats]
        transaction.on_commit(lambda: livekit.remove_participants(pairs))


def leave_on_sign_out(change: SignedOut) -> None:
    """The ``signed_out`` hook: logout, password change, token reuse, suspension
    (VoiceStateUpdate ``joined: false``, as the original does on logout, and out of the room)."""
    leave_all(change.user_id, hang_up=True)


def leave_on_session_ended(change: LoginSessionEnded) -> None:
    """The ``login_session_ended`` hook: a revoked sign-in (a lost phone) leaves the call it
    joined; the user's other devices keep theirs."""
    leave_all(change.user_id, hang_up=True, login_session=change.login_session)


def leave_on_account_deleted(deleting: UserDeleting) -> None:
    """The ``user_leaving`` hook: while the user's DM memberships still tell who must hear of
    it."""
    leave_all(deleting.user.id, hang_up=True)


def _seated(change: AccessChange) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Who sits in voice where the change applies: channel id -> user ids."""
    if change.user_ids is not None:
        by_channel: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user_id, seat in state.seats_of(change.user_ids).items():
            if seat.server_id == change.server_id and change.channel_id in (None, seat.channel_id):
                by_channel.setdefault(seat.channel_id, []).append(user_id)
        return by_channel
    if change.channel_id is not None:
        channel_ids = [change.channel_id]
    elif change.server_id is None:
        return {}
    else:
        channel_ids = list(
            Channel.objects.filter(
                server_id=change.server_id, channel_type__in=VOICE_TYPES
            ).values_list("id", flat=True)
        )
    rosters = {c: state.roster(c) for c in channel_ids}
    return {c: users for c, users in rosters.items() if users}


def revoke_lost_access(change: AccessChange) -> None:
    """The ``chat.hooks.access_changed`` hook: everyone seated where access changed who may no
    longer be there (cannot see the channel, no longer a member, timed out, channel or server
    deleted) leaves Haven's roster with ``VoiceStateUpdate joined:false`` (also to their own
    connections, so their client hangs up) and is removed from the LiveKit room."""
    removed: list[tuple[Channel | None, uuid.UUID, uuid.UUID]] = []
    for channel_id, user_ids in _seated(change).items():
        channel = Channel.objects.select_related("server").filter(id=channel_id).first()
        allowed = may_stay_in_voice(channel, user_ids) if channel is not None else set()
        for user_id in user_ids:
            if user_id not in allowed and state.leave(user_id, channel_id) is not None:
                removed.append((channel, channel_id, user_id))
    if not removed:
        return
    users = {u.id: u for u in User.objects.filter(id__in={r[2] for r in removed})}
    for channel, channel_id, user_id in removed:
        if channel is None:  # deleted: only its subscribers could see it
            channel = Channel(id=channel_id)
            audience = to_channels(channel_id) | to_users(user_id)
        else:
            audience = voice_audience(channel, user_id) | to_users(user_id)
        _state_event(channel, users.get(user_id), user_id, joined=False, audience=audience)
    if settings.HAVEN.voice_enabled:
        livekit.remove_participants([(c, u) for _, c, u in removed])


def participants(user: User, channel_id: uuid.UUID) -> list[dict[str, Any]]:
    """GET /voice/{id}/participants: only for users who can access the channel (403 "Not a
    member of this channel"; an unknown channel answers the same)."""
    access_channel(user.id, channel_id)
    user_ids = state.roster(channel_id)
    if not user_ids:
        return []
    channel_server = Channel.objects.filter(id=channel_id).values_list("server_id", flat=True)
    flags = state.moderation(channel_server.first(), user_ids)
    users = {u.id: u for u in User.objects.filter(id__in=user_ids)}
    return [
        {
            **user_summary(users[uid]),
            "server_muted": flags[uid].muted,
            "server_deafened": flags[uid].deafened,
        }
        for uid in user_ids
        if uid in users
    ]


def do_moderate(
    user: User,
    channel_id: uuid.UUID,
    target_id: uuid.UUID,
    *,
    muted: bool | None = None,
    deafened: bool | None = None,
) -> None:
    """PUT .../mute and .../deafen: MUTE_MEMBERS (or owner) in a server voice channel, target in
    that channel. The flag is stored per server and user, announced with VoiceMuteUpdate, and
    applied in LiveKit after commit (best effort)."""
    channel = Channel.objects.select_related("server").filter(id=channel_id).first()
    if channel is None:
        raise NotFound("Channel not found")
    if channel.server_id is None:
        raise BadRequest("Not a server channel")
    access = channel_access(user.id, channel)
    if access is None:
        raise Forbidden(NOT_CHANNEL_MEMBER)
    if not access.has(Permission.MUTE_MEMBERS):
        raise Forbidden(MISSING_MUTE)
    if target_id not in state.roster(channel.id):
        raise BadRequest("User is not in this voice channel")
    flags = state.set_moderation(channel.server_id, target_id, muted=muted, deafened=deafened)
    with transaction.atomic():
        publish(
            "VoiceMuteUpdate",
            {
                "channel_id": str(channel.id),
                "user_id": str(target_id),
                "server_muted": flags.muted,
                "server_deafened": flags.deafened,
            },
            voice_audience(channel, target_id),
        )
        if settings.HAVEN.voice_enabled:
            transaction.on_commit(
                lambda: livekit.enforce_moderation(
                    channel.id, target_id, muted=flags.muted, deafened=flags.deafened
                ),
                robust=True,
            )
