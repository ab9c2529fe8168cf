"""``/api/v1/ws``: one connection of the realtime gateway (websocket.md; docs/realtime.md).

Transport only: frames are decoded by ``realtime.protocol`` and handled by the registered client
messages (``chat.gateway.session``: the connection's own; ``chat.gateway.messages``: the message
operations; ``voice.gateway``: calls), access is decided by ``chat.access``, events are built by
``realtime.events``. The connection is put together from parts with one job each: this module
(handshake, lifecycle, acting as the user, direct replies), ``chat.gateway.inbound`` (doorbells
and controls from the hub, judged by ``realtime.delivery``), ``chat.gateway.subscriptions``
(which groups it receives), ``realtime.checkpoint`` (what a resume continues from) and
``chat.gateway.timers`` (idle timeouts and checkpoints, per process).

Everything a connection handles (client frames, doorbells, controls, the shutdown notice) is
processed one message at a time, in arrival order: Channels' consumer loop awaits each handler.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer
from django.conf import settings

from accounts.models import User
from chat.gateway.identity import (
    MISSING_TOKEN,
    SessionEnded,
    authenticate,
    itself,
    query_token,
    run_as,
)
from chat.gateway.inbound import Inbound
from chat.gateway.presence import broadcast_presence, user_went_offline
from haven_site import metrics
from haven_site.api.errors import ApiError
from haven_site.asgi_guards import deny, deny_text
from haven_site.threads import in_thread
from realtime import protocol
from realtime.checkpoint import Checkpoints
from realtime.delivery import Delivery
from realtime.events import encode_frame, user_group
from realtime.hub import FRAMES, get_hub
from realtime.registry import get_registry
from realtime.store import get_store

logger = logging.getLogger("haven.gateway")

MAX_MESSAGE_BYTES = 1024 * 1024  # close 1009 above this (the spec asks for at least 64 KiB)
SHUTDOWN_GRACE_SECS = 15.0  # a restart does not flap presence if clients are back by then
CODE_TOO_BIG = 1009


class GatewayConsumer(Inbound, AsyncConsumer):  # type: ignore[misc, unused-ignore]  # untyped base
    # Connections receive through the process's hub, not a channel of their own.
    channel_layer_alias = "__gateway_hub_only__"
    accepted = False
    closing = False
    cleaned = False
    close_kind: str | None = None
    announce_offline = True  # False when whoever closed the socket announced "offline" already
    backlog: deque[dict[str, Any]] | tuple[()] = ()  # made on first use

    # --- handshake and lifecycle (websocket.md 1) -------------------------------------------

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = asyncio.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Channels' own loop (AsyncConsumer.__call__, await_many_dispatch) races receive()
        # against a channel-layer channel with asyncio.wait and a new task per frame (13 us a
        # frame); this consumer has no channel of its own (the hub delivers), so it reads its
        # frames one after the other, dispatching each before the next, as that loop does.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            if self.accepted and not self.cleaned:
                # The consumer failed or was cancelled without its disconnect: take it out of
                # the hub now; its registry entry expires and the sweeper announces "offline"
                # (as for a crashed process), and its session stays as last checkpointed.
                self.cleaned = self.closing = True
                metrics.socket_closed()
                hub = get_hub()
                hub.connections.discard(self)
                for group in list(self.delivery.cursors):
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
        token = query_token(self.scope)
        if token is None:
            await deny_text(self.scope, self.base_send, 400, MISSING_TOKEN)
            raise StopConsumer
        try:
            self.user_id, self.display_name, self.login_session = await in_thread(authenticate)(
                token
            )
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
        self.delivery = Delivery(self.uid)
        self.start_subscriptions()
        self.checkpoints = Checkpoints(self.uid, self.delivery.cursors, self.join_cursors)
        self.last_refresh = self.checkpoints.last_inbound

        # Joined before Hello, so that nothing addressed to the user after Hello is missed;
        # whatever arrives meanwhile waits until this handler is done, so Hello comes first.
        await self.join([user_group(self.user_id)])
        self.checkpoints.start()
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
        get_hub().connections.add(self)  # timers: chat.gateway.timers ticks every connection

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if not self.accepted:
            return
        self.checkpoints.touch()
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
            self.checkpoints.touch()

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
                    record = self.checkpoints.record(exact=kind != "abnormal")
                    await store.save_session(self.session_id, record)
            for group in list(self.delivery.cursors):
                await hub.leave(group, self)
        except Exception:
            logger.exception("Could not save the session of a closing connection")
        grace = SHUTDOWN_GRACE_SECS if kind == "shutdown" else 0
        if await get_registry().unregister(self.uid, self.conn_id, grace=grace):
            await user_went_offline(self.user_id, announce=self.announce_offline)

    async def checkpoint(self) -> None:
        due = self.checkpoints.due()
        if due is not None:
            await get_store().save_session(self.session_id, due[0])
            self.checkpoints.saved = due[1]

    # --- acting as the connection's user (for client message handlers) ----------------------

    async def act(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run the sync ``action(user, *args, **kwargs)`` in a worker thread as this connection's
        user, loaded fresh in the same thread hop. ApiErrors propagate (the consumer answers
        ``Error {message}``); a login session that has ended closes the socket (1008)."""
        return await self._run_as(None, action, args, kwargs)

    async def act_limited(
        self, op: str, action: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """``act``, counted first against the rate limit of the gateway operation ``op``, in
        the same thread hop (``RateLimited`` when over: nothing else is done)."""
        return await self._run_as(op, action, args, kwargs)

    async def _run_as(
        self, limit: str | None, action: Callable[..., Any], args: Any, kwargs: Any
    ) -> Any:
        try:
            return await in_thread(run_as)(
                self.user_id, self.login_session, action, args, kwargs, limit
            )
        except SessionEnded:
            await self.close(1008, "revoked")
            raise

    async def current_user(self) -> User:
        """This connection's user (for async actions), with the same checks as ``act``."""
        user: User = await self.act(itself)
        return user

    # --- outbound ---------------------------------------------------------------------------

    async def send_event(self, event_type: str, payload: dict[str, Any] | None = None) -> None:
        """A direct reply to this connection (Hello, Pong, Subscribed, Error, ...)."""
        if self.closing:
            return  # closed (or closing): nothing more is sent
        FRAMES.count += 1
        await self.send({"type": "websocket.send", "text": encode_frame(event_type, payload)})

    async def send_error(self, message: str) -> None:
        await self.send_event("Error", {"message": message})

    async def broadcast_presence(self, stored: str) -> None:
        await broadcast_presence(self.user_id, stored)
