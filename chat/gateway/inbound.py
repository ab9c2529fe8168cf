"""What reaches a gateway connection from the process's hub: doorbells (``gateway.event``) and
controls (``gateway.control``), kept in order with everything else the connection handles. Each
doorbell is judged by the connection's ``realtime.delivery.Delivery``: skipped, written, or
preceded by the events of a hole read back from the replay store. A part of
``chat.gateway.consumer.GatewayConsumer``."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name

from chat.gateway.subscriptions import CODE_TRY_AGAIN, Subscriptions
from haven_site.server.frames import prepare_text_frame
from realtime.delivery import Verdict
from realtime.hub import FRAMES
from realtime.replay import seq_of
from realtime.store import get_store

logger = logging.getLogger("haven.gateway")

BACKLOG_LIMIT = 2000  # doorbells waiting while the connection is busy


class Inbound(Subscriptions):
    """The hub-facing half of the connection; the consumer provides the state it reads."""

    lock: asyncio.Lock
    accepted: bool
    closing: bool
    announce_offline: bool
    login_session: Any
    prepared: bool
    send_prepared: Callable[[Any], None] | None
    backlog: deque[dict[str, Any]] | tuple[()]  # doorbells waiting while this one is busy
    # Channels' AsyncConsumer (a later base of the consumer) provides these two.
    send: Callable[..., Awaitable[None]]
    base_send: Callable[..., Awaitable[None]]

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections()``: a thread hop per
        message for nothing, since every database call here already runs through
        ``haven_site.threads.in_thread``, which closes old connections in its own thread."""
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
        verdict = self.delivery.judge(message)
        if verdict is Verdict.REPAIR:
            return self.on_hub(message)  # read the hole back first
        if verdict is Verdict.SKIP:
            return None
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

    async def write(self, frame: str, doorbell: dict[str, Any] | None = None) -> None:
        """Write an event's frame (already judged by ``self.delivery``)."""
        FRAMES.count += 1
        if doorbell is not None:
            # One WebSocket frame built per event and process, written to every local socket.
            out = doorbell.get("_send")
            if out is None:
                out = doorbell["_send"] = self.outbound(frame)
            await self.send(out)
        else:
            await self.send({"type": "websocket.send", "text": frame})

    def outbound(self, frame: str) -> dict[str, Any]:
        """The websocket.send message for a doorbell's frame, shared by all local sockets."""
        if self.prepared:
            prepared = prepare_text_frame(frame)
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
        verdict = self.delivery.judge(message)
        if verdict is Verdict.REPAIR:
            if not await self.repair(message["g"], seq_of(message["sid"])):
                return
            verdict = self.delivery.after_repair(message)
        if verdict is Verdict.DELIVER:
            await self.write(message["frame"], message)

    async def repair(self, group: str, before: int) -> bool:
        """The layer dropped doorbells of ``group``: read what was missed from the store."""
        entries = await get_store().read_after(group, self.delivery.cursors[group])
        if entries is None:
            logger.warning("Gateway connection lost events of %s beyond the replay store", group)
            await self.close(CODE_TRY_AGAIN, "lost")
            return False
        for entry in entries:
            if seq_of(entry.sid) >= before:
                break
            if self.delivery.take(group, entry):
                await self.write(entry.frame)
        return True

    # --- controls from the rest of the application (realtime.events.control) -----------------

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
