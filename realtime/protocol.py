"""The client side of the envelope (websocket.md section 2-3) and the gateway's extension points.

* ``client_message(type, **fields)`` registers the handler of one client message type. Parsing is
  declarative: each field has a kind (``UUID``, ``STR``, optional variants, ...), and anything
  that does not fit is answered with ``Error "Invalid message format: ..."`` before a handler
  runs. Other apps (voice: call signalling) register their types the same way, from their
  ``AppConfig.ready()``; a type nobody registered is an unknown variant.
* ``on_last_disconnect(hook)`` registers ``async hook(user_id)``, awaited once when a user's last
  connection anywhere in the cluster has closed (or its instance died and the sweeper noticed):
  voice and call cleanup go there.
* ``process_task(factory)`` registers ``async factory()``, a long-running coroutine started once
  per process with the gateway's hub (when the process serves its first socket): the voice app's
  ring sweeper.

Handlers run one at a time per connection, in arrival order (``MessageAck`` before the echo).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haven_site.api import strict_json
from haven_site.api.fields import NUL_MESSAGE, has_nul, parse_timestamp

FORMAT_PREFIX = "Invalid message format: "


class Kind(enum.Enum):
    UUID = "uuid"
    STR = "str"
    OPT_UUID = "uuid?"
    OPT_STR = "str?"
    OPT_UUID_LIST = "uuid[]?"
    OPT_TIMESTAMP = "timestamp?"

    @property
    def optional(self) -> bool:
        return self.value.endswith("?")


class FormatError(Exception):
    """The message does not fit the envelope; ``str(error)`` follows the prefix."""


Handler = Callable[[Any, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class MessageType:
    name: str
    fields: dict[str, Kind] | None  # None: a type without payload (``Ping``)
    handler: Handler


ProcessTask = Callable[[], Awaitable[None]]

_types: dict[str, MessageType] = {}
_last_disconnect_hooks: list[Callable[[uuid.UUID], Awaitable[None]]] = []
_process_tasks: list[ProcessTask] = []


def client_message(
    name: str, *, unit: bool = False, **fields: Kind
) -> Callable[[Handler], Handler]:
    """Register ``async handler(connection, payload)`` for client messages of type ``name``."""

    def register(handler: Handler) -> Handler:
        _types[name] = MessageType(name, None if unit else dict(fields), handler)
        return handler

    return register


def on_last_disconnect(
    hook: Callable[[uuid.UUID], Awaitable[None]],
) -> Callable[[uuid.UUID], Awaitable[None]]:
    if hook not in _last_disconnect_hooks:
        _last_disconnect_hooks.append(hook)
    return hook


def last_disconnect_hooks() -> list[Callable[[uuid.UUID], Awaitable[None]]]:
    return list(_last_disconnect_hooks)


def process_task(factory: ProcessTask) -> ProcessTask:
    if factory not in _process_tasks:
        _process_tasks.append(factory)
    return factory


def process_tasks() -> list[ProcessTask]:
    return list(_process_tasks)


def _variants() -> str:
    return ", ".join(f"`{name}`" for name in _types)


def _uuid(value: Any, name: str) -> uuid.UUID:
    if not isinstance(value, str):
        raise FormatError(f"invalid type: expected a UUID string for `{name}`")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise FormatError(f"UUID parsing failed: invalid `{name}`") from None


def _field(kind: Kind, value: Any, name: str) -> Any:
    if value is None:
        if kind.optional:
            return None
        raise FormatError(f"missing field `{name}`")
    if kind in (Kind.UUID, Kind.OPT_UUID):
        return _uuid(value, name)
    if kind in (Kind.STR, Kind.OPT_STR):
        if not isinstance(value, str):
            raise FormatError(f"invalid type: expected a string for `{name}`")
        if has_nul(value):
            raise FormatError(f"{NUL_MESSAGE} in `{name}`")
        return value
    if kind is Kind.OPT_UUID_LIST:
        if not isinstance(value, list):
            raise FormatError(f"invalid type: expected a sequence for `{name}`")
        return [_uuid(item, name) for item in value]
    assert kind is Kind.OPT_TIMESTAMP
    moment: datetime | None = parse_timestamp(value) if isinstance(value, str) else None
    if moment is None:
        raise FormatError(f"invalid timestamp for `{name}` (RFC 3339 with an offset)")
    return moment


def parse(text: str) -> tuple[MessageType, dict[str, Any]]:
    """Decode one client frame into its registered type and typed payload."""
    try:
        data = strict_json.loads(text)
    except strict_json.InvalidJson as error:
        raise FormatError(str(error)) from None
    if not isinstance(data, dict):
        raise FormatError("invalid type: expected an object")
    if "type" not in data:
        raise FormatError("missing field `type`")
    name = data["type"]
    if not isinstance(name, str):
        raise FormatError("invalid type: expected a string for `type`")
    kind = _types.get(name)
    if kind is None:
        raise FormatError(f"unknown variant `{name}`, expected one of {_variants()}")
    payload = data.get("payload")
    if kind.fields is None:
        if payload is not None:
            found = "map" if isinstance(payload, dict) else type(payload).__name__
            raise FormatError(f"invalid type: {found}, expected unit variant {name}")
        return kind, {}
    if payload is None:
        raise FormatError("missing field `payload`")
    if not isinstance(payload, dict):
        raise FormatError("invalid type: expected a map for `payload`")
    return kind, {field: _field(k, payload.get(field), field) for field, k in kind.fields.items()}
