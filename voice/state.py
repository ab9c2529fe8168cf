"""Voice state shared by every instance: who sits in which voice channel, and server mute/deafen.

Kept in Django's cache (Redis when ``REDIS_URL`` is set, process memory otherwise), never in one
process's memory, so that a roster is the same whichever instance answers. Keys:

* ``voice:seat:<user>``    -> ``{"channel_id", "server_id", "login_session"}``: the one channel a
  user is in, and the sign-in that joined it (its revocation ends the call);
* ``voice:roster:<channel>`` -> user ids in join order (checked against the seats when read, so
  an entry whose seat has expired disappears by itself);
* ``voice:mod:<server>:<user>`` -> ``{"muted", "deafened"}``: server mute/deafen, per server and
  user, kept across leaving and rejoining (see docs/files-and-voice.md).

Seats and rosters expire 12 hours after the last join, as a safety net for a user whose
disconnect cleanup never ran (an instance crashed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from voice.locks import cache_lock

SEAT_TTL = 12 * 3600


@dataclass(frozen=True)
class Seat:
    channel_id: uuid.UUID
    server_id: uuid.UUID | None
    login_session: uuid.UUID | None = None  # the device's sign-in that joined (None: unknown)


@dataclass(frozen=True)
class Moderation:
    muted: bool = False
    deafened: bool = False


def _seat_key(user_id: uuid.UUID) -> str:
    return f"voice:seat:{user_id}"


def _roster_key(channel_id: uuid.UUID) -> str:
    return f"voice:roster:{channel_id}"


def _mod_key(server_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"voice:mod:{server_id}:{user_id}"


def _decode_seat(value: object) -> Seat | None:
    if not isinstance(value, dict):
        return None
    server = value.get("server_id")
    session = value.get("login_session")
    return Seat(
        uuid.UUID(value["channel_id"]),
        uuid.UUID(server) if server else None,
        uuid.UUID(session) if session else None,
    )


def seat_of(user_id: uuid.UUID) -> Seat | None:
    return _decode_seat(cache.get(_seat_key(user_id)))


def seats_of(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Seat]:
    """The seats of those among ``user_ids`` who are in voice (one cache round trip)."""
    keys = {_seat_key(u): u for u in user_ids}
    found = cache.get_many(list(keys))
    return {keys[k]: seat for k, v in found.items() if (seat := _decode_seat(v)) is not None}


def keep_seat(user_id: uuid.UUID, channel_id: uuid.UUID) -> bool:
    """Extend the seat's lifetime (token renewal); False when the user is not in that channel."""
    with cache_lock(f"voice:user:{user_id}"):
        seat = seat_of(user_id)
        if seat is None or seat.channel_id != channel_id:
            return False
        cache.touch(_seat_key(user_id), SEAT_TTL)
        cache.touch(_roster_key(channel_id), SEAT_TTL)
        return True


def _roster_change(channel_id: uuid.UUID, user_id: uuid.UUID, *, add: bool) -> bool:
    """Add or remove one user; True when the roster changed."""
    with cache_lock(f"voice:roster:{channel_id}"):
        members: list[str] = list(cache.get(_roster_key(channel_id)) or [])
        present = str(user_id) in members
        if add and not present:
            members.append(str(user_id))
        elif not add and present:
            members.remove(str(user_id))
        else:
            return False
        if members:
            cache.set(_roster_key(channel_id), members, SEAT_TTL)
        else:
            cache.delete(_roster_key(channel_id))
        return True


def roster(channel_id: uuid.UUID) -> list[uuid.UUID]:
    """The users in a voice channel, in join order (only those whose seat is this channel)."""
    members = [uuid.UUID(m) for m in cache.get(_roster_key(channel_id)) or []]
    if not members:
        return []
    seats = cache.get_many([_seat_key(m) for m in members])
    return [
        m
        for m in members
        if (seat := _decode_seat(seats.get(_seat_key(m)))) and seat.channel_id == channel_id
    ]


def join(
    user_id: uuid.UUID,
    channel_id: uuid.UUID,
    server_id: uuid.UUID | None,
    login_session: uuid.UUID | None = None,
) -> Seat | None:
    """Seat the user in ``channel_id`` from ``login_session`` (the device's sign-in); returns
    the seat they left by switching, if any."""
    with cache_lock(f"voice:user:{user_id}"):
        previous = seat_of(user_id)
        if previous is not None and previous.channel_id != channel_id:
            _roster_change(previous.channel_id, user_id, add=False)
        cache.set(
            _seat_key(user_id),
            {
                "channel_id": str(channel_id),
                "server_id": str(server_id) if server_id else None,
                "login_session": str(login_session) if login_session else None,
            },
            SEAT_TTL,
        )
        _roster_change(channel_id, user_id, add=True)
    if previous is not None and previous.channel_id != channel_id:
        return previous
    return None


def leave(user_id: uuid.UUID, channel_id: uuid.UUID) -> Seat | None:
    """Take the user out of ``channel_id``; the seat they had there, or None if not in it."""
    with cache_lock(f"voice:user:{user_id}"):
        seat = seat_of(user_id)
        removed = _roster_change(channel_id, user_id, add=False)
        if seat is not None and seat.channel_id == channel_id:
            cache.delete(_seat_key(user_id))
            return seat
    return Seat(channel_id, None) if removed else None


def leave_all(user_id: uuid.UUID, *, login_session: uuid.UUID | None = None) -> list[Seat]:
    """Take the user out of voice (only if seated from ``login_session``, when given)."""
    with cache_lock(f"voice:user:{user_id}"):
        seat = seat_of(user_id)
        if seat is None or (login_session is not None and seat.login_session != login_session):
            return []
        _roster_change(seat.channel_id, user_id, add=False)
        cache.delete(_seat_key(user_id))
        return [seat]


def moderation(
    server_id: uuid.UUID | None, user_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Moderation]:
    """Server mute/deafen of each user (all false outside servers)."""
    if server_id is None or not user_ids:
        return {u: Moderation() for u in user_ids}
    found = cache.get_many([_mod_key(server_id, u) for u in user_ids])
    result = {}
    for user_id in user_ids:
        value = found.get(_mod_key(server_id, user_id)) or {}
        result[user_id] = Moderation(bool(value.get("muted")), bool(value.get("deafened")))
    return result


def set_moderation(
    server_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    muted: bool | None = None,
    deafened: bool | None = None,
) -> Moderation:
    with cache_lock(f"voice:mod:{server_id}:{user_id}"):
        current = moderation(server_id, [user_id])[user_id]
        updated = Moderation(
            current.muted if muted is None else muted,
            current.deafened if deafened is None else deafened,
        )
        if updated.muted or updated.deafened:
            cache.set(
                _mod_key(server_id, user_id),
                {"muted": updated.muted, "deafened": updated.deafened},
                None,
            )
        else:
            cache.delete(_mod_key(server_id, user_id))
        return updated
