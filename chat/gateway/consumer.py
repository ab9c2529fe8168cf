"""``/api/v1/ws``: one connection of the realtime gateway (websocket.md; docs/realtime.md).

Transport only: frames are decoded by ``realtime.protocol`` and handled by the registered
client messages (``chat.gateway.session``: the connection's own; ``chat.gateway.messages``: the
message operations; ``voice.gateway``: calls), access is decided by ``chat.access``, events are
built by ``realtime.events``; this class keeps the connection's state (groups and their replay
cursors, session, timers) and moves frames.

Everything a connection handles (client frames, doorbells, controls, the shutdown notice) is
processed one message at a time, in arrival order: Channels' consumer loop awaits each handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from autobahn.websocket.protocol import PreparedMessage
from channels.consumer import AsyncConsumer, get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings

from haven_site import epochs, metrics
from haven_site.api.errors import ApiError, Unauthorized
from haven_site.asgi_guards import deny, deny_text
from realtime import protocol
from realtime.events import Event, adispatch, channel_group, encode_frame, server_group, user_group
from realtime.hub import FRAMES, get_hub
from realtime.registry import get_registry, refresh_every
from realtime.store import SessionRecord, get_store, seq_of

logger = logging.getLogger("haven.gateway")

MAX_MESSAGE_BYTES = 1024 * 1024  # close 1009 above this (the spec asks for at least 64 KiB)
SEEN_IDS = 512  # event ids remembered per connection to drop a second copy
SAFE_LAG_SECS = 2.0  # see _touch()
SHUTDOWN_GRACE_SECS = 15.0  # a restart does not flap presence if clients are back by then
SWEEP_EVERY_SECS = 10.0
BACKLOG_LIMIT = 2000  # doorbells waiting while the connection is busy
MISSING_TOKEN = "Failed to deserialize query string: missing field `token`"  # noqa: S105
CODE_TOO_BIG = 1009
CODE_TRY_AGAIN = 1013

_last_sweep = 0.0


class SessionEnded(Unauthorized):
    """The connection's login session ended (or its user is gone): the socket is closed."""

    def __init__(self) -> None:
        super().__init__("Invalid token")


def _user_of(user_id: uuid.UUID, login_session: uuid.UUID) -> Any:
    """The connection's user, fresh (names change), as long as its login session lives: the same
    one-query check as authenticating a request."""
    from accounts.authentication import live_user

    user = live_user(user_id, login_session)
    if user is None:
        raise SessionEnded
    return user


def _itself(user: Any) -> Any:
    return user


def _run_as(
    user_id: uuid.UUID,
    login_session: uuid.UUID,
    action: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    epochs.begin()  # one unit of work: the cache epochs are read once for it
    try:
        return action(_user_of(user_id, login_session), *args, **kwargs)
    finally:
        epochs.end()


def _query_token(scope: dict[str, Any]) -> str | None:
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    values = parse_qs(query, keep_blank_values=True).get("token")
    return values[0] if values else None


def _authenticate(token: str) -> tuple[uuid.UUID, str, uuid.UUID]:
    from accounts.authentication import user_for_token

    user, claims = user_for_token(token)
    return user.id, user.display_name or user.username, claims.session_id


async def user_went_offline(user_id: uuid.UUID, *, announce: bool = True) -> None:
    """The user's last connection anywhere has closed: offline, then the cleanup hooks."""
    from chat.presence import audience_of, presence_frame_payload

    await get_registry().adelete_status(str(user_id))
    if announce:
        audience = await database_sync_to_async(audience_of)(user_id)
        await adispatch(Event("PresenceUpdate", presence_frame_payload(user_id, None), audience))
    for hook in protocol.last_disconnect_hooks():
        try:
            await hook(user_id)
        except Exception:
            logger.exception("Last-disconnect hook %r failed", hook)


async def maybe_sweep() -> None:
    """Retire connections of dead instances (at most every few seconds per process)."""
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep < SWEEP_EVERY_SECS:
        return
    _last_sweep = now
    for user in await get_registry().sweep():
        await user_went_offline(uuid.UUID(user))


def tick_every() -> float:
    return min(1.0, settings.HAVEN.ws_heartbeat_timeout_secs / 3)


async def tick_all(connections: list[GatewayConsumer]) -> None:
    """The timers of every connection of the process, once per ``tick_every()`` (the hub calls
    this): idle timeouts, then one Redis round trip for all due checkpoints and one for all
    due registry refreshes. One task per process instead of one sleeping task per socket."""
    now = time.monotonic()
    timeout = settings.HAVEN.ws_heartbeat_timeout_secs
    saves: dict[str, tuple[GatewayConsumer, SessionRecord, tuple[Any, ...]]] = {}
    refreshes: list[GatewayConsumer] = []
    for conn in connections:
        if conn.closing:
            continue
        if now - conn.last_inbound > timeout:
            await conn.close(1000, "abnormal")
            continue
        due = conn.due_checkpoint()
        if due is not None:
            saves[conn.session_id] = (conn, *due)
        if now - conn.last_refresh >= refresh_every():
            conn.last_refresh = now
            refreshes.append(conn)
    hub = get_hub()
    if saves:
        async with hub.tick_lock:
            live = {sid: v for sid, v in saves.items() if not v[0].cleaned}
            await get_store().save_sessions({sid: v[1] for sid, v in live.items()})
        for conn, _, state in saves.values():
            conn.saved = state
    if refreshes:
        await get_registry().refresh_many([(c.uid, c.conn_id) for c in refreshes])
        await maybe_sweep()


@protocol.process_task
async def run_timers() -> None:
    hub = get_hub()
    while True:
        await asyncio.sleep(tick_every())
        try:
            await tick_all(list(hub.connections))
        except Exception:
            logger.exception("Gateway timer failed")


class GatewayConsumer(AsyncConsumer):
    # Connections receive through the process's hub, not a channel of their own.
    channel_layer_alias = "__gateway_hub_only__"
    accepted = False
    closing = False
    cleaned = False
    close_kind: str | None = None
    announce_offline = True  # False when whoever closed the socket announced "offline" already
    # Made on first use (an idle socket never needs them: two deques and a set are 1.5 KiB).
    backlog: deque[dict[str, Any]] | tuple[()] = ()  # doorbells waiting while this one is busy
    seen: deque[str] | None = None  # ids of the last SEEN_IDS events delivered, oldest first
    seen_set: set[str] | frozenset[str] = frozenset()

    # --- handshake and lifecycle (websocket.md 1) -------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = asyncio.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.accepted and not self.cleaned:
                # The consumer failed or was cancelled without its disconnect: take it out of
                # the hub now; its registry entry expires and the sweeper announces "offline"
                # (as for a crashed process), and its session stays as last checkpointed.
                self.cleaned = self.closing = True
                metrics.socket_closed()
                hub = get_hub()
                hub.connections.discard(self)
                for group in list(self.cursors):
                    members = hub.members.get(group)
                    if members is not None:
                        members.discard(self)

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        extensions = self.scope.get("extensions", {})
        self.prepared = "haven.prepared" in extensions
        # haven_site.serve: write a prepared frame to this socket at once (see ring()).
        self.send_prepared: Callable[[Any], None] | None = (
            extensions.get("haven.send_prepared") if self.prepared else None
        )
        token = _query_token(self.scope)
        if token is None:
            await deny_text(self.scope, self.base_send, 400, MISSING_TOKEN)
            raise StopConsumer
        try:
            self.user_id, self.display_name, self.login_session = await database_sync_to_async(
                _authenticate
            )(token)
        except ApiError as error:
            await deny(self.scope, self.base_send, error.status_code, error.message)
            raise StopConsumer from None
        self.uid = str(self.user_id)
        self.conn_id = uuid.uuid4().hex
        limit = settings.HAVEN.max_ws_connections_per_user
        if not await get_registry().register(self.uid, self.conn_id, limit):
            await deny(
                self.scope, self.base_send, 400, f"Maximum {limit} connections per user exceeded"
            )
            raise StopConsumer

        self.session_id = str(uuid.uuid4())
        self.cursors: dict[str, str] = {}  # group -> id of the last event delivered from it
        self.join_cursors: dict[str, str] = {}  # group -> its last id when this connection joined
        self.channels: dict[uuid.UUID, uuid.UUID | None] = {}  # subscribed channel -> server
        self.server_refs: dict[uuid.UUID, int] = {}
        # After a Resume: where a re-Subscribe continues the resumed session's groups, and the
        # resumed channels' servers (so that an access re-check covers them too).
        self.resumed: dict[str, str] = {}
        self.resumed_channels: dict[uuid.UUID, uuid.UUID | None] = {}
        self.resumed_at = 0.0
        now = time.monotonic()
        self.last_inbound = now
        self.last_active = time.time()
        self.safe: dict[str, str] = {}
        self.pending: dict[str, str] = {}
        self.snapshot_at = now
        self.saved: tuple[Any, ...] | None = None
        self.last_refresh = now

        # Joined before Hello, so that nothing addressed to the user after Hello is missed;
        # whatever arrives meanwhile waits until this handler is done, so Hello comes first.
        await self.join([user_group(self.user_id)])
        self.pending = dict(self.cursors)
        await self.send({"type": "websocket.accept"})
        self.accepted = True
        metrics.socket_opened()
        heartbeat_ms = settings.HAVEN.ws_heartbeat_timeout_secs * 1000 // 3
        await self.send_event(
            "Hello", {"session_id": self.session_id, "heartbeat_interval_ms": heartbeat_ms}
        )
        previous = await get_registry().aset_status(self.uid, "online")
        await self.checkpoint()
        if previous != "online":
            # Another connection of the user already announced "online": saying it again to
            # every watcher would make a reconnect storm quadratic (docs/realtime.md).
            await self.broadcast_presence("online")
        get_hub().connections.add(self)  # timers: the hub ticks every connection (tick_all)

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if not self.accepted:
            return
        self.touch()
        text = message.get("text")
        if text is None or self.closing:
            return  # binary frames carry nothing (websocket.md 1.6)
        if len(text) * 4 > MAX_MESSAGE_BYTES and len(text.encode()) > MAX_MESSAGE_BYTES:
            await self.close(CODE_TOO_BIG, "abnormal")
            return
        try:
            kind, payload = protocol.parse(text)
        except protocol.FormatError as error:
            await self.send_error(protocol.FORMAT_PREFIX + str(error))
            return
        try:
            await kind.handler(self, payload)
        except ApiError as error:
            await self.send_error(error.message)
        except Exception:
            logger.exception("Gateway handler %s failed", kind.name)
            await self.send_error("Internal error")

    async def haven_activity(self, message: dict[str, Any]) -> None:
        """A WebSocket ping or pong frame arrived (haven_site.serve): the peer is alive."""
        if self.accepted:
            self.touch()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.accepted and not self.cleaned:
            code = message.get("code")
            kind = self.close_kind or ("clean" if code in (1000, 1001, 1005) else "abnormal")
            await self.cleanup(kind)
        raise StopConsumer

    async def haven_shutdown(self, message: dict[str, Any]) -> None:
        """The process is stopping (SIGTERM): save the exact resume state, then close 1001.
        Everything happens before the close, since the process ends right after it."""
        if not self.accepted or self.cleaned:
            return
        await self.cleanup("shutdown")
        await self.send({"type": "websocket.close", "code": 1001})

    async def haven_overflow(self, message: dict[str, Any]) -> None:
        """The peer stopped reading and its outbound buffer overflowed (haven_site.serve): the
        connection was dropped with frames unsent, so its session cannot be resumed exactly."""
        if self.accepted:
            self.close_kind = "overflow"
            self.closing = True

    async def close(self, code: int, kind: str) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_kind = kind
        await self.send({"type": "websocket.close", "code": code})

    async def cleanup(self, kind: str) -> None:
        self.cleaned = True
        self.closing = True
        metrics.socket_closed()
        hub = get_hub()
        hub.connections.discard(self)
        store = get_store()
        try:
            async with hub.tick_lock:  # a checkpoint of this connection may be on its way
                if kind in ("overflow", "lost", "revoked"):
                    await store.delete_session(self.session_id)
                else:
                    record = self.record(exact=kind != "abnormal")
                    await store.save_session(self.session_id, record)
            for group in list(self.cursors):
                await hub.leave(group, self)
        except Exception:
            logger.exception("Could not save the session of a closing connection")
        grace = SHUTDOWN_GRACE_SECS if kind == "shutdown" else 0
        if await get_registry().unregister(self.uid, self.conn_id, grace=grace):
            await user_went_offline(self.user_id, announce=self.announce_offline)

    # --- timers: idle timeout, checkpoints, registry refresh (websocket.md 1.7, 6) ----------

    def touch(self) -> None:
        """Any inbound frame: restart the idle timer and move the *safe* cursors forward.

        The safe cursors are what an abnormally closed (or killed) connection resumes from:
        the cursors as they were at an inbound frame at least SAFE_LAG_SECS before the latest
        one, i.e. events the client demonstrably had time to receive while it was still
        talking. Resume may then repeat a few events (clients de-duplicate) but never skips one.
        """
        now = time.monotonic()
        self.last_inbound = now
        self.last_active = time.time()
        if now - self.snapshot_at >= SAFE_LAG_SECS:
            self.safe = self.pending
            self.pending = dict(self.cursors)
            self.snapshot_at = now

    def record(self, *, exact: bool) -> SessionRecord:
        if exact:
            cursors = dict(self.cursors)
        else:
            cursors = {g: self.safe.get(g, self.join_cursors[g]) for g in self.cursors}
        return SessionRecord(self.uid, self.last_active, cursors, saved_at=time.time())

    def due_checkpoint(self) -> tuple[SessionRecord, tuple[Any, ...]] | None:
        """The session record to save, if it changed since the last save. Saved again (a fresh
        saved_at) whenever the cursors or the activity moved: a session only counts as "away"
        from an access change made after its last save."""
        record = self.record(exact=False)
        state = (record.last_active, tuple(sorted(record.cursors.items())))
        return None if state == self.saved else (record, state)

    async def checkpoint(self) -> None:
        due = self.due_checkpoint()
        if due is not None:
            await get_store().save_session(self.session_id, due[0])
            self.saved = due[1]

    # --- groups -----------------------------------------------------------------------------

    async def join(self, groups: list[str]) -> list[str]:
        """Start receiving groups. Each cursor starts at the group's last id, read *before*
        joining (an event appended in between shows up as a hole and is read back), or, for a
        group of a resumed session, where that session's replay ended. Returns the resumed
        groups: ``catch_up`` delivers what they missed since."""
        groups = [g for g in groups if g not in self.cursors]
        fresh = [g for g in groups if g not in self.resumed]
        starts = dict(zip(fresh, await get_store().last_ids(fresh), strict=True))
        continued = []
        for group in groups:
            if group in starts:
                start = starts[group]
            else:
                start = self.resumed.pop(group)
                continued.append(group)
            self.cursors[group] = start
            self.join_cursors[group] = start
            await get_hub().join(group, self)
        return continued

    async def catch_up(self, groups: list[str], scopes: list[str]) -> None:
        """Deliver, in publish order and once, what ``groups`` received after their cursors
        (events published between ``Resumed`` and the re-``Subscribe``). Doorbells that arrive
        meanwhile wait in the backlog and are then dropped as already delivered. If access
        changed since the resume (a stamp of ``scopes``), what was published in between may
        not be the user's to see: the connection is closed like one with an unfillable hole."""
        stamps = await get_store().access_stamps(scopes)
        if any(at > self.resumed_at for at in stamps.values()):
            await self.close(CODE_TRY_AGAIN, "lost")
            return
        merged: list[tuple[int, str, Any]] = []
        for group in groups:
            entries = await get_store().read_after(group, self.cursors[group])
            if entries is None:
                logger.warning(
                    "Gateway connection lost events of %s beyond the replay store", group
                )
                await self.close(CODE_TRY_AGAIN, "lost")
                return
            merged += [(seq_of(e.sid), group, e) for e in entries]
        for _, group, entry in sorted(merged, key=lambda item: item[0]):
            if self.uid not in entry.hidden:
                await self.deliver(entry.event_id, entry.frame)
            self.cursors[group] = entry.sid

    async def leave(self, groups: list[str]) -> None:
        for group in groups:
            if self.cursors.pop(group, None) is not None:
                self.join_cursors.pop(group, None)
                await get_hub().leave(group, self)

    async def subscribe(self, channel_id: uuid.UUID, server_id: uuid.UUID | None) -> list[str]:
        """Join the channel (and its server's group); the resumed groups to ``catch_up``."""
        if channel_id in self.channels:
            return []
        groups = [channel_group(channel_id)]
        if server_id is not None and not self.server_refs.get(server_id):
            groups.append(server_group(server_id))
        self.resumed_channels.pop(channel_id, None)
        continued = await self.join(groups)
        self.channels[channel_id] = server_id
        if server_id is not None:
            self.server_refs[server_id] = self.server_refs.get(server_id, 0) + 1
        return continued

    async def unsubscribe(self, channel_id: uuid.UUID) -> None:
        if channel_id not in self.channels:
            return
        server_id = self.channels.pop(channel_id)
        groups = [channel_group(channel_id)]
        if server_id is not None:
            self.server_refs[server_id] -= 1
            if not self.server_refs[server_id]:
                del self.server_refs[server_id]
                groups.append(server_group(server_id))
        await self.leave(groups)

    # --- acting as the connection's user (for client message handlers) ----------------------

    async def act(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run the sync ``action(user, *args, **kwargs)`` in a worker thread as this connection's
        user, loaded fresh in the same thread hop. ApiErrors propagate (the consumer answers
        ``Error {message}``); a login session that has ended closes the socket (1008)."""
        try:
            return await database_sync_to_async(_run_as)(
                self.user_id, self.login_session, action, args, kwargs
            )
        except SessionEnded:
            await self.close(1008, "revoked")
            raise

    async def current_user(self) -> Any:
        """This connection's user (for async actions), with the same checks as ``act``."""
        return await self.act(_itself)

    # --- outbound ---------------------------------------------------------------------------

    async def send_event(self, event_type: str, payload: dict[str, Any] | None = None) -> None:
        """A direct reply to this connection (Hello, Pong, Subscribed, Error, ...)."""
        if self.closing:
            return  # closed (or closing): nothing more is sent
        FRAMES.count += 1
        await self.send({"type": "websocket.send", "text": encode_frame(event_type, payload)})

    async def send_error(self, message: str) -> None:
        await self.send_event("Error", {"message": message})

    async def deliver(
        self, event_id: str, frame: str, doorbell: dict[str, Any] | None = None
    ) -> bool:
        if event_id in self.seen_set:
            return False
        self.remember(event_id)
        FRAMES.count += 1
        if doorbell is not None:
            # One WebSocket frame built per event and process, written to every local socket.
            out = doorbell.get("_send")
            if out is None:
                out = doorbell["_send"] = self.outbound(frame)
            await self.send(out)
        else:
            await self.send({"type": "websocket.send", "text": frame})
        return True

    # --- inbound from the hub: doorbells and controls, in order with everything else --------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections()``: a thread hop per
        message for nothing, since every database call here already runs through
        ``database_sync_to_async``, which closes old connections in its own thread."""
        async with self.lock:
            handler = getattr(self, get_handler_name(message), None)
            if handler is None:
                raise ValueError(f"No handler for message type {message['type']}")
            await handler(message)
            await self.drain()
        FRAMES.flush()

    def ring(self, message: dict[str, Any]) -> Awaitable[None] | None:
        """The hub's entry point. The common case (an idle connection, the next event of a
        group, not seen before) is decided here without a coroutine of its own: it returns the
        one frame write to await. Everything else takes ``on_hub``."""
        if (
            self.lock.locked()
            or self.backlog
            or self.closing
            or not self.accepted
            or message.get("type") != "gateway.event"
        ):
            return self.on_hub(message)
        sid = message.get("sid")
        if sid is not None:
            group = message["g"]
            cursor = self.cursors.get(group)
            if cursor is None:
                return None
            seq = message.get("_seq")
            if seq is None:
                seq = message["_seq"] = seq_of(sid)
            if seq <= seq_of(cursor):
                return None
            if message["prev"] != cursor and seq_of(message["prev"]) > seq_of(cursor):
                return self.on_hub(message)  # a hole: read it back first
            self.cursors[group] = sid
        hidden = message.get("x")
        if hidden is not None and self.uid in hidden:
            return None
        event_id = message["id"]
        if event_id in self.seen_set:
            return None
        self.remember(event_id)
        out = message.get("_send")
        if out is None:
            out = message["_send"] = self.outbound(message["frame"])
        FRAMES.count += 1  # added to the metric once per doorbell, by the hub
        if self.send_prepared is not None:
            # Written now: nothing of this connection is in flight (the lock is free and the
            # backlog empty, checked above), so order is kept without a coroutine per frame.
            self.send_prepared(out["haven.prepared"])
            return None
        return self.base_send(out)

    def remember(self, event_id: str) -> None:
        """Note a delivered event, so that a second copy (another group) is dropped."""
        seen = self.seen
        if seen is None:
            seen = self.seen = deque()
            self.seen_set = set()
        seen.append(event_id)
        assert isinstance(self.seen_set, set)
        self.seen_set.add(event_id)
        if len(seen) > SEEN_IDS:
            self.seen_set.discard(seen.popleft())

    def outbound(self, frame: str) -> dict[str, Any]:
        """The websocket.send message for a doorbell's frame, shared by all local sockets."""
        if self.prepared:
            prepared = PreparedMessage(frame.encode(), False, False, True)
            return {"type": "websocket.send", "text": frame, "haven.prepared": prepared}
        return {"type": "websocket.send", "text": frame}

    async def on_hub(self, message: dict[str, Any]) -> None:
        if self.lock.locked():
            if not self.backlog:
                self.backlog = deque()
            assert isinstance(self.backlog, deque)
            self.backlog.append(message)
            if len(self.backlog) > BACKLOG_LIMIT and not self.closing:
                # A connection this far behind is closed rather than buffered without end;
                # its session cannot be resumed exactly (the backlog is dropped).
                self.backlog.clear()
                await self.close(CODE_TRY_AGAIN, "overflow")
            return
        async with self.lock:
            await self.handle_hub(message)
            await self.drain()

    async def drain(self) -> None:
        while self.backlog:
            assert isinstance(self.backlog, deque)
            await self.handle_hub(self.backlog.popleft())

    async def handle_hub(self, message: dict[str, Any]) -> None:
        if message.get("type") == "gateway.control":
            await self.gateway_control(message)
        else:
            await self.gateway_event(message)

    async def gateway_event(self, message: dict[str, Any]) -> None:
        """A doorbell from the channel layer: deliver once, in order, filling any hole."""
        if self.closing or not self.accepted:
            return
        sid = message.get("sid")
        hidden = message.get("x")
        visible = hidden is None or self.uid not in hidden
        if sid is None:  # not replayable: no order to keep
            if visible:
                await self.deliver(message["id"], message["frame"], message)
            return
        group = message["g"]
        cursor = self.cursors.get(group)
        if cursor is None:
            return  # left the group while this was in flight
        seq = message.get("_seq")
        if seq is None:
            seq = message["_seq"] = seq_of(sid)
        if seq <= seq_of(cursor):
            return  # already delivered (read back from the store)
        prev = message["prev"]
        hole = prev != cursor and seq_of(prev) > seq_of(cursor)
        if hole and not await self.backfill(group, cursor, seq):
            return
        if visible:
            await self.deliver(message["id"], message["frame"], message)
        self.cursors[group] = sid

    async def backfill(self, group: str, cursor: str, before: int) -> bool:
        """The layer dropped doorbells of ``group``: read what was missed from the store."""
        entries = await get_store().read_after(group, cursor)
        if entries is None:
            logger.warning("Gateway connection lost events of %s beyond the replay store", group)
            await self.close(CODE_TRY_AGAIN, "lost")
            return False
        for entry in entries:
            if seq_of(entry.sid) >= before:
                break
            if self.uid not in entry.hidden:
                await self.deliver(entry.event_id, entry.frame)
            self.cursors[group] = entry.sid
        return True

    # --- controls from the rest of the application (realtime.events.control) --------------------

    async def gateway_control(self, message: dict[str, Any]) -> None:
        if not self.accepted or self.closing:
            return
        action = message.get("action")
        if action == "close":
            wanted = message.get("login_session")
            if wanted is None or str(wanted) == str(self.login_session):
                self.announce_offline = bool(message.get("announce", True))
                await self.close(int(message.get("code") or 1000), "revoked")
        elif action == "recheck":
            await self.recheck(message.get("server_id"))
        else:
            logger.warning("Unknown gateway control %r", action)

    async def recheck(self, server_id: Any) -> None:
        """Access changed: silently drop the subscriptions this user may no longer see (and the
        resumed channels not subscribed again yet, so a later Subscribe cannot continue them)."""
        from chat.access import still_visible

        def concerned(server: uuid.UUID | None) -> bool:
            return server_id is None or (server is not None and str(server) == str(server_id))

        targets = [c for c, s in self.channels.items() if concerned(s)]
        resumed = [c for c, s in self.resumed_channels.items() if concerned(s)]
        if not targets and not resumed:
            return
        keep = await database_sync_to_async(still_visible)(self.user_id, targets + resumed)
        for channel_id in targets:
            if channel_id not in keep:
                await self.unsubscribe(channel_id)
        for channel_id in resumed:
            if channel_id not in keep:
                del self.resumed_channels[channel_id]
                self.resumed.pop(channel_group(channel_id), None)

    # --- presence ----------------------------------------------------------------

    async def broadcast_presence(self, stored: str) -> None:
        from chat.presence import audience_of, presence_frame_payload

        audience = await database_sync_to_async(audience_of)(self.user_id)
        await adispatch(Event("PresenceUpdate", presence_frame_payload(self.uid, stored), audience))
