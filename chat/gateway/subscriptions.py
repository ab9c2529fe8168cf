"""Which groups a gateway connection receives (websocket.md 3.6-3.7, 6): its user's group from
the start, a channel's group and its server's on ``Subscribe``; the groups a ``Resume`` handed
over, continued on their re-``Subscribe``; and the subscriptions dropped when access changes.
A part of ``chat.gateway.consumer.GatewayConsumer``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from chat.access import still_visible
from haven_site.threads import in_thread
from realtime.delivery import Delivery
from realtime.events import channel_group, server_group
from realtime.hub import get_hub
from realtime.replay import Entry, seq_of
from realtime.store import get_store

logger = logging.getLogger("haven.gateway")

CODE_TRY_AGAIN = 1013


class Subscriptions:
    """The subscription state and its operations; the consumer provides ``close`` and
    ``write``."""

    user_id: uuid.UUID
    delivery: Delivery
    join_cursors: dict[str, str]  # group -> its last id when this connection joined
    channels: dict[uuid.UUID, uuid.UUID | None]  # subscribed channel -> its server
    server_refs: dict[uuid.UUID, int]  # server -> subscribed channels of it
    # After a Resume: where a re-Subscribe continues the resumed session's groups, and the
    # resumed channels' servers (so that an access re-check covers them too).
    resumed: dict[str, str]
    resumed_channels: dict[uuid.UUID, uuid.UUID | None]
    resumed_at: float

    def start_subscriptions(self) -> None:
        self.join_cursors = {}
        self.channels = {}
        self.server_refs = {}
        self.resumed = {}
        self.resumed_channels = {}
        self.resumed_at = 0.0

    async def close(self, code: int, kind: str) -> None:
        raise NotImplementedError

    async def write(self, frame: str, doorbell: dict[str, Any] | None = None) -> None:
        raise NotImplementedError

    def ring(self, message: dict[str, Any]) -> Awaitable[None] | None:
        raise NotImplementedError  # the hub's entry point (chat.gateway.inbound)

    async def join(self, groups: list[str]) -> list[str]:
        """Start receiving groups. Each cursor starts at the group's last id, read *before*
        joining (an event appended in between shows up as a hole and is read back), or, for a
        group of a resumed session, where that session's replay ended. Returns the resumed
        groups: ``catch_up`` delivers what they missed since."""
        cursors = self.delivery.cursors
        groups = [g for g in groups if g not in cursors]
        fresh = [g for g in groups if g not in self.resumed]
        starts = dict(zip(fresh, await get_store().last_ids(fresh), strict=True))
        continued = []
        for group in groups:
            if group in starts:
                start = starts[group]
            else:
                start = self.resumed.pop(group)
                continued.append(group)
            cursors[group] = start
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
        merged: list[tuple[int, str, Entry]] = []
        for group in groups:
            entries = await get_store().read_after(group, self.delivery.cursors[group])
            if entries is None:
                logger.warning(
                    "Gateway connection lost events of %s beyond the replay store", group
                )
                await self.close(CODE_TRY_AGAIN, "lost")
                return
            merged += [(seq_of(e.sid), group, e) for e in entries]
        for _, group, entry in sorted(merged, key=lambda item: item[0]):
            if self.delivery.take(group, entry):
                await self.write(entry.frame)

    async def leave(self, groups: list[str]) -> None:
        for group in groups:
            if self.delivery.cursors.pop(group, None) is not None:
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

    async def recheck(self, server_id: Any) -> None:
        """Access changed: silently drop the subscriptions this user may no longer see (and the
        resumed channels not subscribed again yet, so a later Subscribe cannot continue them)."""

        def concerned(server: uuid.UUID | None) -> bool:
            return server_id is None or (server is not None and str(server) == str(server_id))

        targets = [c for c, s in self.channels.items() if concerned(s)]
        resumed = [c for c, s in self.resumed_channels.items() if concerned(s)]
        if not targets and not resumed:
            return
        keep = await in_thread(still_visible)(self.user_id, targets + resumed)
        for channel_id in targets:
            if channel_id not in keep:
                await self.unsubscribe(channel_id)
        for channel_id in resumed:
            if channel_id not in keep:
                del self.resumed_channels[channel_id]
                self.resumed.pop(channel_group(channel_id), None)
