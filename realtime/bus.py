"""Delivery of published events to the gateway's groups on every instance.

A replayable event is first appended once per target group to the replay store (its id there,
``sid``, is the same in every group); then the channel layer rings each group's doorbell with
``{"type": "gateway.event", "g": group, "id": event id, "frame": text, "sid": id, "prev": id}``,
plus ``"x": [user ids]`` when the event is hidden from some users (blocks), which is stored with
the entry too. The frame is the event's one serialisation; receivers forward it unchanged. The
doorbell may be lost (the layer is at-most-once): receivers notice the hole from ``prev`` and read
it back from the store. Non-replayable events (``Error``, ``CallRinging``) carry no ``sid``.

On the Redis pub/sub layer the append script publishes the doorbells itself (msgpack, the
layer's serialisation), in the same atomic step: events appended by several processes at once
reach every receiver in append order, so concurrent senders cause no holes (each hole costs
every local receiver of the group a read of the store), and an event costs one round trip.

A ``recheck`` control (access changed) also stamps the change in the store, so that sessions
saved before it cannot be resumed as if nothing happened (``realtime.store``).

The bus moves encoded frames to named groups: it takes an ``Outgoing`` (built by
``realtime.events``, which owns audiences and serialisation) and never imports the events module.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from haven_site import redisconn
from realtime.replay import Appended, hidden_field
from realtime.store import get_store

logger = logging.getLogger("haven.gateway.bus")


@dataclass(frozen=True)
class Outgoing:
    """One event as the bus moves it: already encoded, addressed to groups."""

    id: str
    type: str
    frame: str
    groups: list[str]
    hidden: list[str]  # user ids it must not reach, sorted
    replayable: bool


def _messages(
    event: Outgoing, groups: list[str], sid: str | None, prevs: list[str] | None
) -> list[tuple[str, dict[str, Any]]]:
    frame = event.frame
    hidden = event.hidden
    out = []
    for index, group in enumerate(groups):
        message: dict[str, Any] = {
            "type": "gateway.event",
            "g": group,
            "id": event.id,
            "frame": frame,
        }
        if sid is not None and prevs is not None:
            message["sid"] = sid
            message["prev"] = prevs[index]
        if hidden:
            message["x"] = hidden
        out.append((group, message))
    return out


def _appended(event: Outgoing) -> Appended:
    return Appended(event.id, event.type, event.frame, hidden_field(event.hidden))


async def _ring(messages: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, message in messages:
        await layer.group_send(group, message)


def _ring_sync(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """``_ring`` from sync code. On the Redis pub/sub layer a group send is one ``PUBLISH`` of
    the layer's own serialisation to the group's Redis channel: done here on the sync client,
    pipelined, instead of a hop to the event loop and back (``async_to_sync``) per event."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    prefix = pubsub_prefix()
    if prefix is None:
        async_to_sync(_ring)(messages)
        return
    with redisconn.sync_client(decode=False).pipeline(transaction=False) as pipe:
        for group, message in messages:
            pipe.publish(f"{prefix}__group__{group}", layer.serialize(message))
        pipe.execute()


def pubsub_prefix() -> str | None:
    """The Redis channel prefix of the pub/sub channel layer (None for another layer)."""
    config: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    if config.get("BACKEND") != "channels_redis.pubsub.RedisPubSubChannelLayer":
        return None
    options = config.get("CONFIG", {})
    if len(options.get("hosts", ())) != 1:
        return None  # sharded: the layer picks the shard
    if (
        options.get("symmetric_encryption_keys")
        or options.get("serializer_format", "msgpack") != "msgpack"
    ):
        return None  # the doorbell must be the layer's own plain msgpack
    return str(options.get("prefix", "asgi"))


def _publisher() -> str:
    """The layer prefix to hand the replay store's append, so that it rings the doorbells in
    the same atomic step (order across processes = append order, one round trip); "" when the
    bus must ring them itself (another layer, or the in-memory store)."""
    prefix = pubsub_prefix()
    return prefix if prefix is not None and get_store().publishes else ""


async def adeliver(event: Outgoing) -> None:
    groups = event.groups
    if not groups:
        return
    sid: str | None = None
    prevs: list[str] | None = None
    if event.replayable:
        publish = _publisher()
        store = get_store()
        sid, prevs = await store.aappend(groups, _appended(event), publish)
        if publish:
            return
    await _ring(_messages(event, groups, sid, prevs))


def deliver(event: Outgoing) -> None:
    """From sync code (actions, after commit). The replay-store append stays sync here: outside
    a server there is no long-lived event loop for the async Redis client to belong to."""
    try:
        groups = event.groups
        if not groups:
            return
        sid: str | None = None
        prevs: list[str] | None = None
        if event.replayable:
            publish = _publisher()
            store = get_store()
            sid, prevs = store.append(groups, _appended(event), publish)
            if publish:
                return
        _ring_sync(_messages(event, groups, sid, prevs))
    except Exception:
        # A lost doorbell must not fail the request that already committed its change.
        logger.exception("Could not deliver %s", event.type)


def deliver_control(groups: list[str], message: dict[str, object], stamps: list[str]) -> None:
    """Ring each group with a control ``message``; first stamp ``stamps`` (access scopes that
    changed, for a ``recheck``) in the store."""
    try:
        if stamps:
            get_store().stamp_access(stamps, time.time())
        _ring_sync([(group, {**message, "g": group}) for group in groups])
    except Exception:
        logger.exception("Could not deliver control %s", message.get("action"))


async def adeliver_control(groups: list[str], message: dict[str, object]) -> None:
    """``deliver_control`` from async code (tests, the gateway), without access stamps."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        await layer.group_send(group, {**message, "g": group})
