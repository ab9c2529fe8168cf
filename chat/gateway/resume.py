"""``Resume`` (websocket.md 6.2): replay what a saved session missed, then ``Resumed``.

A resume never hands out what the user may no longer see (docs/realtime.md, "Resume re-checks
access"):

* every group of the saved record is re-checked against current access (``chat.access``): a
  channel the user cannot see now (banned, kicked, left, hidden by a role or an overwrite, a DM or
  group left or deleted) is dropped, with its server's group unless another kept channel needs it;
* a kept channel whose access changed while the session was away (an access stamp newer than the
  record, ``realtime.store``) may have been lost and regained meanwhile, so the session cannot
  be resumed exactly: ``InvalidSession`` (the client re-fetches over REST);
* the record is *taken*: saved back without groups, so resuming it again replays nothing (an old
  session id is not a subscription that never ends).

The kept channel and server groups are handed to the new connection (``conn.resumed``): its
re-``Subscribe`` of one of them continues from where the replay ended, so events published
between ``Resumed`` and ``Subscribe`` arrive once, in order (``GatewayConsumer.catch_up``). If
access to that channel changed in between, the continuation is refused like a hole that cannot
be filled (close 1013, session deleted): never a gap, never a leak.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.conf import settings

from chat.access import still_visible_by_server
from chat.gateway.consumer import GatewayConsumer
from haven_site import metrics
from realtime import protocol
from realtime.events import channel_group, server_group, user_group
from realtime.replay import Entry, SessionRecord, channel_scopes, seq_of
from realtime.store import get_store


@protocol.client_message("Resume", session_id=protocol.Kind.UUID)
async def resume(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """Replay what the named session missed, in order and once, then ``Resumed``; or
    ``InvalidSession`` when that cannot be done exactly."""
    session_id = str(payload["session_id"])
    store = get_store()
    record = await store.load_session(session_id)
    ttl = settings.HAVEN.ws_session_ttl_secs
    if record is None or record.user_id != conn.uid or time.time() - record.last_active > ttl:
        await _invalid(conn)
        return
    channels = _channels_of(record)
    # Through act(): the connection's login session is checked too (a revoked one is closed).
    visible = await conn.act(_visible, list(channels))
    if await _changed_while_away(conn, record, visible):
        await store.delete_session(session_id)
        await _invalid(conn)
        return
    groups = _kept_groups(conn, record, visible)
    replay = await _read(conn, record, groups)
    if replay is None:
        await _invalid(conn)
        return
    entries, ends = replay
    replayed = 0
    for _, event_id, frame in entries:
        if conn.delivery.first_copy(event_id):
            await conn.write(frame)
            replayed += 1
    _hand_over(conn, ends, visible)
    conn.resumed_at = time.time()
    taken = SessionRecord(record.user_id, time.time(), {}, saved_at=time.time())
    await store.save_session(session_id, taken)
    metrics.replay_outcome("resumed")
    await conn.send_event("Resumed", {"replayed_count": replayed})


def _visible(user: Any, channel_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
    return still_visible_by_server(user.id, channel_ids)


async def _invalid(conn: GatewayConsumer) -> None:
    metrics.replay_outcome("invalid")
    await conn.send_event("InvalidSession")


def _channels_of(record: SessionRecord) -> dict[uuid.UUID, str]:
    found = {}
    for group in record.cursors:
        if group.startswith("ch."):
            try:
                found[uuid.UUID(group[3:])] = group
            except ValueError:
                continue
    return found


async def _changed_while_away(
    conn: GatewayConsumer, record: SessionRecord, visible: dict[uuid.UUID, uuid.UUID | None]
) -> bool:
    """Whether access to a channel the user still sees changed after the record was saved."""
    scopes = set()
    for channel_id, server_id in visible.items():
        scopes.update(channel_scopes(conn.uid, channel_id, server_id))
    stamps = await get_store().access_stamps(sorted(scopes))
    return any(at > record.saved_at for at in stamps.values())


def _kept_groups(
    conn: GatewayConsumer, record: SessionRecord, visible: dict[uuid.UUID, uuid.UUID | None]
) -> list[str]:
    """The record's groups the user may still receive: their own, the visible channels, and
    the groups of those channels' servers."""
    allowed = {user_group(conn.user_id)}
    allowed |= {channel_group(c) for c in visible}
    allowed |= {server_group(s) for s in visible.values() if s is not None}
    return [g for g in record.cursors if g in allowed]


async def _read(
    conn: GatewayConsumer, record: SessionRecord, groups: list[str]
) -> tuple[list[tuple[int, str, str]], dict[str, str]] | None:
    """The entries to replay, merged in publish order, and where each group's log ended; None
    when some were trimmed away (a hole)."""
    merged: dict[str, tuple[int, str, str]] = {}
    ends: dict[str, str] = {}
    for group in groups:
        cursor = record.cursors[group]
        entries = await get_store().read_after(group, cursor)
        if entries is None:
            return None
        # Events after this connection joined the same group reach it live already.
        upto = seq_of(conn.join_cursors[group]) if group in conn.join_cursors else None
        ends[group] = entries[-1].sid if entries else cursor
        for entry in entries:
            seq = seq_of(entry.sid)
            if upto is not None and seq > upto:
                break
            if conn.uid in entry.hidden or _own_presence(entry, conn.uid):
                continue
            merged.setdefault(entry.event_id, (seq, entry.event_id, entry.frame))
    return sorted(merged.values()), ends


def _hand_over(
    conn: GatewayConsumer, ends: dict[str, str], visible: dict[uuid.UUID, uuid.UUID | None]
) -> None:
    """Remember where the replay of each group this connection has not joined ended, so that
    its re-Subscribe continues from there."""
    for group, end in ends.items():
        if group in conn.delivery.cursors:
            continue
        known = conn.resumed.get(group)
        if known is None or seq_of(end) > seq_of(known):
            conn.resumed[group] = end
    for channel_id, server_id in visible.items():
        if channel_id not in conn.channels:
            conn.resumed_channels[channel_id] = server_id


def _own_presence(entry: Entry, user_id: str) -> bool:
    """Whether the entry is this user's own PresenceUpdate (e.g. the ``offline`` of the
    connection being resumed): the live connection's presence supersedes it, so it is not
    replayed. Told by the type stored with the entry; only such entries are decoded."""
    event_type = entry.type or json.loads(entry.frame)["type"]  # stored before types were
    if event_type != "PresenceUpdate":
        return False
    payload = json.loads(entry.frame).get("payload") or {}
    return bool(payload.get("user_id") == user_id)
