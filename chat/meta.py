"""Readable names from ``encrypted_meta`` for the admin (e2ee.md 8.1).

Despite its name, the metadata of servers, channels, DMs and group DMs is not encrypted: clients
store UTF-8 JSON such as ``{"name": "Design Guild"}`` (the server's default channel holds the raw
text ``welcome``). Clients read it the same way; when a meta does not parse (a client that does
encrypt it), the admin shows a short id instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from haven_site.api import strict_json

MAX_NAME = 80


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"


def _printable(text: str) -> bool:
    return bool(text.strip()) and all(ch.isprintable() or ch.isspace() for ch in text)


def readable_name(meta: bytes | memoryview | None) -> str | None:
    """The name clients show for this meta, or None when it cannot be read."""
    if not meta:
        return None
    try:
        text = bytes(meta).decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        data: Any = strict_json.loads(text)
    except strict_json.InvalidJson:
        return _clip(text) if _printable(text) else None  # e2ee.md 8.1: a raw string name
    if not isinstance(data, dict):
        return None
    name = data.get("name")
    if isinstance(name, str) and _printable(name):
        return _clip(name)
    names = data.get("names")
    if data.get("type") in ("dm", "group") and isinstance(names, dict):
        people = [n for n in names.values() if isinstance(n, str) and _printable(n)]
        if people:
            return _clip(("DM: " if data["type"] == "dm" else "Group: ") + ", ".join(people))
    return None


def short_id(object_id: uuid.UUID | str) -> str:
    return str(object_id)[:8]


def label(meta: bytes | memoryview | None, object_id: uuid.UUID | str) -> str:
    """The readable name, else ``#`` and the first eight characters of the id."""
    return readable_name(meta) or f"#{short_id(object_id)}"
