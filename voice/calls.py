"""DM and group call signalling (websocket.md 3.12): CallInvite / CallAccept / CallReject /
CallEnd, answered with CallRinging / CallAccepted / CallRejected / CallEnded. Media goes through
LiveKit separately (``POST /voice/{channel_id}/join``).

The gateway calls these coroutines with ``(user, channel_id)``; each raises ApiError with the
spec's WebSocket error text, which the gateway sends back as ``Error``. EVERY message checks that
the channel exists, is a DM or group, and that the caller is a member.

State lives in Django's cache (Redis when configured), shared by all instances, under a per-channel
lock (``voice.locks``):

* ``call:ring:<channel>`` - the one ringing call of a channel: ring id, caller, deadline;
* ``call:live:<channel>`` - a connected call: accepted-at time and who took part;
* ``call:user:<user>``    - the channels where a user is ringing or in a connected call (for the
  last-disconnect cleanup);
* ``call:rings``          - index of ringing calls and their deadlines (for the sweeper).

The 30 s ring timeout works across instances: the inviting instance arms a timer, AND any
instance that touches the channel's call state, or runs ``expire_due_rings`` (the gateway calls
it periodically), ends a ring whose deadline has passed. The lock and the ring id make sure
exactly one of them sends ``CallEnded``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.db import transaction

from accounts.models import User
from chat.access import NOT_CHANNEL_MEMBER
from chat.actions.messages import DM_ACCEPT_FIRST, DM_DECLINED, DM_STILL_PENDING, blocked_in_dm
from chat.actions.system_messages import post_system_message
from chat.models import Channel, ChannelMember, ChannelType, DmStatus
from haven_site.api.errors import BadRequest, Forbidden, NotFound
from haven_site.threads import in_thread
from realtime.events import Event, adispatch, to_users
from voice.locks import cache_lock

logger = logging.getLogger("haven.voice.calls")

RING_SECONDS = 30.0
RING_KEY_TTL = 120  # the ring record outlives its deadline, so a late sweeper still ends it
LIVE_TTL = 24 * 3600
SWEEP_INTERVAL = 5.0

CHANNEL_NOT_FOUND = "Channel not found"
NOT_A_CALL_CHANNEL = "Calls are only supported in DMs and group DMs"
ALREADY_ACTIVE = "A call is already active in this channel"
NO_ACTIVE_CALL = "No active call in this channel"
CANNOT_CALL = "Cannot call this user"

_timers: set[asyncio.Task[None]] = set()


@dataclass
class _Outbox:
    """Events decided under the lock, sent after it is released."""

    events: list[tuple[str, dict[str, Any], list[uuid.UUID]]] = field(default_factory=list)
    call_ended_message: tuple[Channel, User, int] | None = None

    def add(self, event_type: str, payload: dict[str, Any], users: list[uuid.UUID]) -> None:
        self.events.append((event_type, payload, users))


def _ring_key(channel_id: uuid.UUID) -> str:
    return f"call:ring:{channel_id}"


def _live_key(channel_id: uuid.UUID) -> str:
    return f"call:live:{channel_id}"


def _user_key(user_id: uuid.UUID) -> str:
    return f"call:user:{user_id}"


_INDEX = "call:rings"


# --- Checks (every message) -------------------------------------------------------------------


@dataclass(frozen=True)
class _CallChannel:
    channel: Channel
    members: list[uuid.UUID]


def _check_channel(user: User, channel_id: uuid.UUID) -> _CallChannel:
    channel = Channel.objects.filter(id=channel_id).first()
    if channel is None:
        raise NotFound(CHANNEL_NOT_FOUND)
    if channel.channel_type not in (ChannelType.DM, ChannelType.GROUP) or channel.server_id:
        raise BadRequest(NOT_A_CALL_CHANNEL)
    members = list(ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True))
    if user.id not in members:
        raise Forbidden(NOT_CHANNEL_MEMBER)
    return _CallChannel(channel, members)


def check_dm_call(
    user_id: uuid.UUID, channel: Channel, members: list[uuid.UUID] | None = None
) -> None:
    """A one-to-one DM takes calls (ringing and voice) only as it takes messages from both:
    never across a block (either way) and not while the request is unanswered or declined
    (docs/files-and-voice.md). Group DMs and DMs from before requests were tracked pass."""
    if channel.channel_type != ChannelType.DM:
        return
    if members is None:
        members = _members(channel.id)
    if blocked_in_dm(user_id, channel, members):
        raise Forbidden(CANNOT_CALL)
    if channel.dm_initiator_id is None:
        return
    if channel.dm_status == DmStatus.DECLINED:
        raise Forbidden(DM_DECLINED)
    if channel.dm_status == DmStatus.PENDING:
        raise Forbidden(DM_STILL_PENDING if user_id == channel.dm_initiator_id else DM_ACCEPT_FIRST)


def _members(channel_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        ChannelMember.objects.filter(channel_id=channel_id).values_list("user_id", flat=True)
    )


# --- State helpers (call under the channel lock) ----------------------------------------------


def _track_user(user_id: uuid.UUID, channel_id: uuid.UUID, *, add: bool) -> None:
    with cache_lock(f"call:user:{user_id}"):
        channels: list[str] = list(cache.get(_user_key(user_id)) or [])
        if add and str(channel_id) not in channels:
            channels.append(str(channel_id))
        elif not add and str(channel_id) in channels:
            channels.remove(str(channel_id))
        if channels:
            cache.set(_user_key(user_id), channels, LIVE_TTL)
        else:
            cache.delete(_user_key(user_id))


def _index(channel_id: uuid.UUID, ring: dict[str, Any] | None) -> None:
    with cache_lock(_INDEX):
        rings: dict[str, Any] = dict(cache.get(_INDEX) or {})
        if ring is None:
            rings.pop(str(channel_id), None)
        else:
            rings[str(channel_id)] = {"ring_id": ring["ring_id"], "deadline": ring["deadline"]}
        if rings:
            cache.set(_INDEX, rings, LIVE_TTL)
        else:
            cache.delete(_INDEX)


def _clear_ring(channel_id: uuid.UUID, ring: dict[str, Any]) -> None:
    cache.delete(_ring_key(channel_id))
    _index(channel_id, None)
    live = cache.get(_live_key(channel_id))
    caller = uuid.UUID(ring["caller_id"])
    if not (isinstance(live, dict) and str(caller) in live.get("participants", [])):
        _track_user(caller, channel_id, add=False)


def _current_ring(channel_id: uuid.UUID, outbox: _Outbox) -> dict[str, Any] | None:
    """The live ring of a channel; a ring past its deadline is ended here (CallEnded by the
    caller, as the timer would have done) and None is returned."""
    ring = cache.get(_ring_key(channel_id))
    if not isinstance(ring, dict):
        return None
    if ring["deadline"] > time.time():
        return ring
    _clear_ring(channel_id, ring)
    outbox.add(
        "CallEnded",
        {"channel_id": str(channel_id), "ended_by": ring["caller_id"]},
        _members(channel_id),
    )
    return None


def _end_live(
    channel: Channel, ender: User, outbox: _Outbox, *, live: dict[str, Any] | None = None
) -> None:
    live = live if live is not None else cache.get(_live_key(channel.id))
    if not isinstance(live, dict):
        return
    cache.delete(_live_key(channel.id))
    for participant in live.get("participants", []):
        _track_user(uuid.UUID(participant), channel.id, add=False)
    duration = max(0, int(time.time() - float(live["accepted_at"])))
    outbox.call_ended_message = (channel, ender, duration)


# --- Sending ------------------------------------------------------------------------------------


def _post_call_ended(
    channel: Channel, ender: User, duration: int, members: list[uuid.UUID]
) -> None:
    with transaction.atomic():
        post_system_message(
            channel,
            "call_ended",
            audience=to_users(members),
            username=ender.display_name or ender.username or "Someone",
            user_id=ender.id,
            duration_secs=duration,
        )


async def _flush(outbox: _Outbox, members: list[uuid.UUID] | None = None) -> None:
    if outbox.call_ended_message is not None:
        channel, ender, duration = outbox.call_ended_message
        everyone = members if members is not None else await in_thread(_members)(channel.id)
        await in_thread(_post_call_ended)(channel, ender, duration, everyone)
    for event_type, payload, users in outbox.events:
        if users:
            await adispatch(Event(event_type, payload, to_users(*users)))


# --- The four messages ----------------------------------------------------------------------------


def _invite(user: User, channel_id: uuid.UUID) -> tuple[_Outbox, dict[str, Any]]:
    call = _check_channel(user, channel_id)
    check_dm_call(user.id, call.channel, call.members)
    outbox = _Outbox()
    with cache_lock(f"call:{channel_id}"):
        if _current_ring(channel_id, outbox) is not None:
            raise BadRequest(ALREADY_ACTIVE)
        now = time.time()
        ring = {
            "ring_id": uuid.uuid4().hex,
            "caller_id": str(user.id),
            "started_at": now,
            "deadline": now + RING_SECONDS,
        }
        cache.set(_ring_key(channel_id), ring, RING_SECONDS + RING_KEY_TTL)
        _index(channel_id, ring)
        _track_user(user.id, channel_id, add=True)
    outbox.add(
        "CallRinging",
        {"channel_id": str(channel_id), "caller_id": str(user.id), "caller_name": user.shown_name},
        [m for m in call.members if m != user.id],
    )
    return outbox, ring


async def call_invite(user: User, channel_id: uuid.UUID) -> None:
    """CallInvite: ring every other member; the ring ends by itself after 30 s."""
    outbox, ring = await in_thread(_invite)(user, channel_id)
    await _flush(outbox)
    task = asyncio.get_running_loop().create_task(
        _ring_timer(channel_id, ring["ring_id"], ring["deadline"])
    )
    _timers.add(task)
    task.add_done_callback(_timers.discard)


def _accept(user: User, channel_id: uuid.UUID) -> _Outbox:
    call = _check_channel(user, channel_id)
    check_dm_call(user.id, call.channel, call.members)
    outbox = _Outbox()
    with cache_lock(f"call:{channel_id}"):
        ring = _current_ring(channel_id, outbox)
        live = cache.get(_live_key(channel_id))
        if ring is None and not isinstance(live, dict):
            if outbox.events:
                return outbox  # the ring just timed out: CallEnded goes out instead
            raise BadRequest(NO_ACTIVE_CALL)
        if ring is not None:
            _clear_ring(channel_id, ring)
        if isinstance(live, dict) and ring is None:
            participants = list(live["participants"])  # joining a connected group call
        else:
            live = {"accepted_at": time.time(), "participants": []}
            participants = [ring["caller_id"]] if ring is not None else []
        for person in (*participants, str(user.id)):
            if person not in live["participants"]:
                live["participants"].append(person)
        cache.set(_live_key(channel_id), live, LIVE_TTL)
        for person in live["participants"]:
            _track_user(uuid.UUID(person), channel_id, add=True)
    outbox.add(
        "CallAccepted", {"channel_id": str(channel_id), "user_id": str(user.id)}, call.members
    )
    return outbox


async def call_accept(user: User, channel_id: uuid.UUID) -> None:
    """CallAccept: stop the ringing and mark the call connected (or join a connected group
    call). Error ``No active call in this channel`` when nothing rings."""
    outbox = await in_thread(_accept)(user, channel_id)
    await _flush(outbox)
    if outbox.events and outbox.events[-1][0] == "CallEnded":
        raise BadRequest(NO_ACTIVE_CALL)


def _reject(user: User, channel_id: uuid.UUID) -> _Outbox:
    call = _check_channel(user, channel_id)
    outbox = _Outbox()
    with cache_lock(f"call:{channel_id}"):
        ring = _current_ring(channel_id, outbox)
        if ring is None:
            return outbox
        _clear_ring(channel_id, ring)
    outbox.add(
        "CallRejected", {"channel_id": str(channel_id), "user_id": str(user.id)}, call.members
    )
    return outbox


async def call_reject(user: User, channel_id: uuid.UUID) -> None:
    """CallReject: any one reject ends the ring, even in a group."""
    outbox = await in_thread(_reject)(user, channel_id)
    await _flush(outbox)
    if not outbox.events or outbox.events[-1][0] != "CallRejected":
        raise BadRequest(NO_ACTIVE_CALL)


def _end(user: User, channel_id: uuid.UUID) -> tuple[_Outbox, list[uuid.UUID]]:
    call = _check_channel(user, channel_id)
    outbox = _Outbox()
    with cache_lock(f"call:{channel_id}"):
        ring = cache.get(_ring_key(channel_id))
        if isinstance(ring, dict):
            _clear_ring(channel_id, ring)
        _end_live(call.channel, user, outbox)
    outbox.add("CallEnded", {"channel_id": str(channel_id), "ended_by": str(user.id)}, call.members)
    return outbox, call.members


async def call_end(user: User, channel_id: uuid.UUID) -> None:
    """CallEnd: clear the ringing; a connected call leaves a ``call_ended`` system message with
    its duration; ``CallEnded`` goes to every member in any case."""
    outbox, members = await in_thread(_end)(user, channel_id)
    await _flush(outbox, members)


# --- Timeouts and disconnects ---------------------------------------------------------------


def _expire(channel_id: uuid.UUID, ring_id: str) -> _Outbox:
    outbox = _Outbox()
    with cache_lock(f"call:{channel_id}"):
        ring = cache.get(_ring_key(channel_id))
        if not isinstance(ring, dict) or ring["ring_id"] != ring_id:
            # Answered, rejected, ended, or already expired elsewhere; keep the index tidy.
            if not isinstance(ring, dict):
                _index(channel_id, None)
            return outbox
        _current_ring(channel_id, outbox)
    return outbox


async def expire_ring(channel_id: uuid.UUID, ring_id: str) -> None:
    outbox = await in_thread(_expire)(channel_id, ring_id)
    await _flush(outbox)


async def _ring_timer(channel_id: uuid.UUID, ring_id: str, deadline: float) -> None:
    try:
        await asyncio.sleep(max(0.0, deadline - time.time()))
        await expire_ring(channel_id, ring_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Ring timeout failed")


async def expire_due_rings() -> int:
    """End every ring whose deadline passed, whichever instance started it (the gateway calls
    this every few seconds). Returns how many were ended here."""
    rings: dict[str, Any] = await sync_to_async(cache.get)(_INDEX) or {}
    now = time.time()
    ended = 0
    for channel, ring in rings.items():
        if ring["deadline"] <= now:
            outbox = await in_thread(_expire)(uuid.UUID(channel), ring["ring_id"])
            ended += bool(outbox.events)
            await _flush(outbox)
    return ended


async def run_ring_sweeper(interval: float = SWEEP_INTERVAL) -> None:
    """A loop for the gateway's process: ``expire_due_rings`` every ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        try:
            await expire_due_rings()
        except Exception:
            logger.exception("Ring sweep failed")


def _disconnected(user_id: uuid.UUID) -> list[_Outbox]:
    tracked = list(cache.get(_user_key(user_id)) or [])
    if not tracked:
        return []  # the common case: no query at all
    user = User.objects.filter(id=user_id).first()
    outboxes = []
    for raw in tracked:
        channel_id = uuid.UUID(raw)
        channel = Channel.objects.filter(id=channel_id).first()
        outbox = _Outbox()
        with cache_lock(f"call:{channel_id}"):
            ring = cache.get(_ring_key(channel_id))
            if isinstance(ring, dict) and ring["caller_id"] == str(user_id):
                _clear_ring(channel_id, ring)
                ended = True
            else:
                ended = False
            live = cache.get(_live_key(channel_id))
            if (
                isinstance(live, dict)
                and str(user_id) in live.get("participants", [])
                and channel is not None
                and user is not None
            ):
                _end_live(channel, user, outbox, live=live)
                ended = True
            _track_user(user_id, channel_id, add=False)
        if ended:
            outbox.add(
                "CallEnded",
                {"channel_id": str(channel_id), "ended_by": str(user_id)},
                _members(channel_id),
            )
            outboxes.append(outbox)
    return outboxes


async def user_disconnected(user_id: uuid.UUID) -> None:
    """The user's last connection closed (websocket.md 1.8, 9.13): rings they started end, and
    connected calls they took part in end as if they had sent CallEnd (system message plus
    CallEnded)."""
    for outbox in await in_thread(_disconnected)(user_id):
        await _flush(outbox)
