"""The process-local fan-out between the channel layer and the connections of this process.

Each process (each event loop) joins every gateway group *once*, with one channel of its own, and
hands each doorbell to its local connections in that group by a direct call: one layer message,
one deserialisation and (under ``haven_site.serve``) one prepared WebSocket frame per event and
process, however many local sockets receive it. Delivery to a connection keeps its sequencing:
while the connection handles a message of its own, doorbells wait in its bounded backlog.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from haven_site import metrics
from realtime import protocol

logger = logging.getLogger("haven.gateway.hub")

REGROUP_EVERY_SECS = 3600.0  # channels_redis (core) forgets group members after a day


class FrameTally:
    """Frames this process wrote to WebSocket clients, added to the Prometheus counter in
    batches (``haven_site.metrics.event_delivered(n)``): connections count each frame with an
    integer increment, and the hub flushes once per doorbell, the consumer once per message it
    handled, so a doorbell to 1000 local sockets costs one counter update, not 1000."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def flush(self) -> None:
        if self.count:
            count, self.count = self.count, 0
            metrics.event_delivered(count)


FRAMES = FrameTally()


class Member(Protocol):
    def ring(self, message: dict[str, Any]) -> Awaitable[None] | None: ...


class Hub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.members: dict[str, set[Member]] = {}
        self.channel_name: str | None = None
        self.task: asyncio.Task[None] | None = None
        self.tasks: list[asyncio.Task[None]] = []  # protocol.process_task coroutines
        self.lock = asyncio.Lock()
        self.regrouped = time.monotonic()
        # Every accepted connection of this process, for the per-process timers
        # (chat.gateway.timers), and the lock that orders a batch of checkpoints
        # with a closing connection's own save.
        self.connections: set[Any] = set()
        self.tick_lock = asyncio.Lock()

    async def start(self) -> None:
        if self.channel_name is None:
            self.channel_name = await self.layer.new_channel("gateway.")
            self.task = asyncio.create_task(self.run())
            # The gateway's per-process background work (e.g. the voice app's ring sweeper)
            # starts with the process's hub: once per process, only where sockets are served.
            for factory in protocol.process_tasks():
                self.tasks.append(asyncio.create_task(_guarded(factory)))

    async def join(self, group: str, member: Member) -> None:
        async with self.lock:
            await self.start()
            found = self.members.get(group)
            if found is None:
                self.members[group] = found = set()
                await self.layer.group_add(group, self.channel_name)
            found.add(member)

    async def leave(self, group: str, member: Member) -> None:
        async with self.lock:
            found = self.members.get(group)
            if found is None or member not in found:
                return
            found.discard(member)
            if not found:
                del self.members[group]
                await self.layer.group_discard(group, self.channel_name)

    async def run(self) -> None:
        assert self.channel_name is not None
        while True:
            try:
                message = await self.layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Gateway hub could not receive; retrying")
                await asyncio.sleep(1)
                continue
            members = self.members.get(message.get("g", ""))
            if members:
                for member in list(members):
                    try:
                        pending = member.ring(message)
                        if pending is not None:
                            await pending
                    except Exception:
                        logger.exception("Gateway delivery failed")
                FRAMES.flush()
            if time.monotonic() - self.regrouped > REGROUP_EVERY_SECS:
                self.regrouped = time.monotonic()
                for group in list(self.members):
                    await self.layer.group_add(group, self.channel_name)


async def _guarded(factory: protocol.ProcessTask) -> None:
    try:
        await factory()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("Gateway process task %r stopped", factory)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
