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
saved before it cannot be resumed as if nothing happened (``chat.gateway.store``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from chat.gateway import redis_client
from chat.gateway.store import (
    get_store,
    hidden_field,
    member_scope,
    participant_scope,
    server_scope,
)

if TYPE_CHECKING:
    from chat.events import Audience, Event

logger = logging.getLogger("haven.gateway.bus")


def _messages(
    event: Event, groups: list[str], sid: str | None, prevs: list[str] | None
) -> list[tuple[str, dict[str, Any]]]:
    frame = event.frame
    hidden = sorted(str(u) for u in event.audience.hidden_from)
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


def _hidden(event: Event) -> str:
    return hidden_field([str(u) for u in event.audience.hidden_from])


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
    with redis_client.sync_client(decode=False).pipeline(transaction=False) as pipe:
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


async def adeliver(event: Event) -> None:
    groups = event.audience.groups()
    if not groups:
        return
    sid: str | None = None
    prevs: list[str] | None = None
    if event.replayable:
        publish = _publisher()
        store = get_store()
        sid, prevs = await store.aappend(groups, event.id, event.frame, _hidden(event), publish)
        if publish:
            return
    await _ring(_messages(event, groups, sid, prevs))


def deliver(event: Event) -> None:
    """From sync code (actions, after commit). The replay-store append stays sync here: outside
    a server there is no long-lived event loop for the async Redis client to belong to."""
    try:
        groups = event.audience.groups()
        if not groups:
            return
        sid: str | None = None
        prevs: list[str] | None = None
        if event.replayable:
            publish = _publisher()
            store = get_store()
            sid, prevs = store.append(groups, event.id, event.frame, _hidden(event), publish)
            if publish:
                return
        _ring_sync(_messages(event, groups, sid, prevs))
    except Exception:
        # A lost doorbell must not fail the request that already committed its change.
        logger.exception("Could not deliver %s", event.type)


async def adeliver_control(audience: Audience, message: dict[str, object]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in audience.groups():
        await layer.group_send(group, {**message, "g": group})


def deliver_control(audience: Audience, message: dict[str, object]) -> None:
    try:
        if message.get("action") == "recheck":
            get_store().stamp_access(access_scopes(audience, message), time.time())
        _ring_sync([(group, {**message, "g": group}) for group in audience.groups()])
    except Exception:
        logger.exception("Could not deliver control %s", message.get("action"))


def access_scopes(audience: Audience, message: dict[str, object]) -> list[str]:
    """What a ``recheck`` changed, as store stamp scopes: a server for everyone in it (its
    subscribers were addressed), or a server or a DM/group channel for the users addressed."""
    server_id = message.get("server_id")
    channel_id = message.get("channel_id")
    if server_id is not None and audience.servers:
        return [server_scope(server_id)]
    if server_id is not None:
        return [member_scope(server_id, u) for u in sorted(audience.users)]
    if channel_id is not None:
        return [participant_scope(channel_id, u) for u in sorted(audience.users)]
    return []
