"""The one module that publishes what clients must see (websocket.md section 4).

Every state change calls ``publish(type, payload, audience)`` inside its transaction; the event is
encoded once and handed to the gateway's bus only after the transaction commits, so a rollback never
shows a phantom event. Audiences name groups, never sockets:

* ``to_channels(c)`` - connections subscribed to channel ``c`` (access checked at subscribe time);
* ``to_servers(s)``  - connections subscribed to any channel of server ``s``, one copy each;
* ``to_users(u)``    - every connection of user ``u``, on every instance.

A connection in several groups of one event receives it once (the gateway de-duplicates by id).
An audience may also name users the event is hidden from (``hidden_from``, e.g. the people a user
blocked, or who blocked them, for presence and typing): their connections skip it, live and on
resume.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from realtime import bus
from realtime.replay import member_scope, participant_scope, server_scope

# Events the spec does not replay on resume (websocket.md 4.0 "Buf" column).
NOT_REPLAYED = frozenset(
    {"Hello", "Pong", "Resumed", "InvalidSession", "Subscribed", "Error", "CallRinging"}
)


@dataclass(frozen=True)
class Audience:
    channels: frozenset[uuid.UUID] = frozenset()
    servers: frozenset[uuid.UUID] = frozenset()
    users: frozenset[uuid.UUID] = frozenset()
    hidden_from: frozenset[uuid.UUID] = frozenset()

    def __or__(self, other: Audience) -> Audience:
        return Audience(
            self.channels | other.channels,
            self.servers | other.servers,
            self.users | other.users,
            self.hidden_from | other.hidden_from,
        )

    def hiding(self, user_ids: Iterable[uuid.UUID]) -> Audience:
        """The same groups, with the event hidden from ``user_ids``."""
        return Audience(
            self.channels, self.servers, self.users, self.hidden_from | frozenset(user_ids)
        )

    def __bool__(self) -> bool:
        return bool(self.channels or self.servers or self.users)

    def groups(self) -> list[str]:
        return (
            [channel_group(c) for c in sorted(self.channels)]
            + [server_group(s) for s in sorted(self.servers)]
            + [user_group(u) for u in sorted(self.users)]
        )


def to_channels(*ids: uuid.UUID) -> Audience:
    return Audience(channels=frozenset(ids))


def to_servers(*ids: uuid.UUID) -> Audience:
    return Audience(servers=frozenset(ids))


def to_users(*ids: uuid.UUID | Iterable[uuid.UUID]) -> Audience:
    flat: set[uuid.UUID] = set()
    for item in ids:
        if isinstance(item, uuid.UUID):
            flat.add(item)
        else:
            flat.update(item)
    return Audience(users=frozenset(flat))


def channel_group(channel_id: uuid.UUID) -> str:
    return f"ch.{channel_id}"


def server_group(server_id: uuid.UUID) -> str:
    return f"srv.{server_id}"


def user_group(user_id: uuid.UUID) -> str:
    return f"user.{user_id}"


@dataclass(frozen=True)
class Event:
    """One event, serialised once: ``frame`` is the exact text every recipient receives."""

    type: str
    payload: dict[str, Any] | None
    audience: Audience
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @cached_property
    def frame(self) -> str:
        return encode_frame(self.type, self.payload)

    @property
    def replayable(self) -> bool:
        return self.type not in NOT_REPLAYED

    def outgoing(self) -> bus.Outgoing:
        hidden = sorted(str(u) for u in self.audience.hidden_from)
        groups = self.audience.groups()
        return bus.Outgoing(self.id, self.type, self.frame, groups, hidden, self.replayable)


def encode_frame(event_type: str, payload: dict[str, Any] | None) -> str:
    envelope: dict[str, Any] = {"type": event_type}
    if payload is not None:
        envelope["payload"] = payload
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))


Listener = Callable[[Event], None]
ControlListener = Callable[["Audience", dict[str, Any]], None]
_listeners: list[Listener] = []
_control_listeners: list[ControlListener] = []


def publish(event_type: str, payload: dict[str, Any] | None, audience: Audience) -> None:
    """Publish once the surrounding transaction commits (at once outside a transaction)."""
    if not audience:
        return
    event = Event(event_type, payload, audience)
    transaction.on_commit(lambda: dispatch(event), robust=True)


def control(action: str, audience: Audience, **data: Any) -> None:
    """A command to the gateway's connections (not a client event), e.g. ``close`` after an
    account is deleted or ``recheck`` after access to channels changed. Sent after commit."""
    if not audience:
        return
    message = {"type": "gateway.control", "action": action, **data}
    transaction.on_commit(lambda: deliver_control(audience, message), robust=True)


def deliver_control(audience: Audience, message: dict[str, Any]) -> None:
    for listener in list(_control_listeners):
        listener(audience, message)
    stamps = access_scopes(audience, message) if message["action"] == "recheck" else []
    bus.deliver_control(audience.groups(), message, stamps)


async def acontrol(action: str, audience: Audience, **data: Any) -> None:
    """``control`` from async code, at once (no transaction, no access stamps)."""
    message = {"type": "gateway.control", "action": action, **data}
    await bus.adeliver_control(audience.groups(), message)


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


def dispatch(event: Event) -> None:
    for listener in list(_listeners):
        listener(event)
    bus.deliver(event.outgoing())


async def adispatch(event: Event) -> None:
    """From async code (the gateway), where there is no transaction to wait for."""
    for listener in list(_listeners):
        listener(event)
    await bus.adeliver(event.outgoing())


@dataclass
class CapturedEvent:
    type: str
    payload: Any
    audience: Audience


@contextmanager
def capture_events() -> Iterator[list[CapturedEvent]]:
    """Record every dispatched event (tests). Payloads are round-tripped through JSON so that a
    payload that cannot be serialised fails where it is built."""
    captured: list[CapturedEvent] = []

    def record(event: Event) -> None:
        decoded = json.loads(event.frame)
        captured.append(CapturedEvent(decoded["type"], decoded.get("payload"), event.audience))

    _listeners.append(record)
    try:
        yield captured
    finally:
        _listeners.remove(record)


@contextmanager
def capture_controls() -> Iterator[list[tuple[Audience, dict[str, Any]]]]:
    """Record every gateway control sent (tests), as (audience, message)."""
    captured: list[tuple[Audience, dict[str, Any]]] = []

    def record(audience: Audience, message: dict[str, Any]) -> None:
        captured.append((audience, message))

    _control_listeners.append(record)
    try:
        yield captured
    finally:
        _control_listeners.remove(record)
