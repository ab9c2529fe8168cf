"""The instance that the backup tests back up and restore: two registered users, a server, a
channel, messages with arbitrary bytes, media files, and an instance audit entry (bob made admin
by a management command). Importable without pytest so that a
``manage.py shell`` subprocess can fill an embedded (SQLite) instance with the same data."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accounts.actions.admin import do_set_admin
from accounts.actions.auth import Client, do_register
from accounts.actions.instance_audit import Actor
from chat.actions.message_store import insert_message
from chat.models import Channel, Server, ServerMember
from tests.helpers import PASSWORD, key_material

USERNAMES = ("alice", "bob")


def populate(register: Callable[[str], Any], media: Path) -> dict[str, Any]:
    """Users through ``register``, the rest through the models; returns what must come back."""
    alice, bob = (register(name) for name in USERNAMES)
    server = Server.objects.create(owner_id=alice.id, encrypted_meta=bytes(range(256)))
    channel = Channel.objects.create(server=server, encrypted_meta=b"\x00\xffchannel\x00")
    ServerMember.objects.create(server=server, user_id=alice.id)
    ServerMember.objects.create(server=server, user_id=bob.id)
    bodies = [os.urandom(n) for n in (1, 300, 4096)] + [b"\x00" * 10, b"\xff\xfe"]
    for index, body in enumerate(bodies):
        insert_message(
            channel,
            sender_id=(alice if index % 2 else bob).id,
            encrypted_body=body,
            sender_token=os.urandom(32),
        )
    files = {
        "ab/cdef0123": os.urandom(5000),
        "ab/cdef4567": b"",
        "ff/00aa": os.urandom(70_000),
    }
    for name, data in files.items():
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(data)
    do_set_admin(Actor.command("promote_admin"), bob.id, True, reason="trusted moderator")
    return {"bodies": bodies, "files": files, "users": set(USERNAMES)}


def register_directly(username: str) -> Any:
    """Registration through the same action as the API, for a process without a test client."""
    body = {"username": username, "password": PASSWORD, **key_material(username)}
    user, _tokens = do_register(body, Client(user_agent=None, ip=None))
    return user


def populate_to_file(media: str, report: str) -> None:
    """``manage.py shell -c`` entry point: fill this instance, write what must come back."""
    data = populate(register_directly, Path(media))
    Path(report).write_text(
        json.dumps(
            {
                "bodies": [body.hex() for body in data["bodies"]],
                "files": {name: content.hex() for name, content in data["files"].items()},
                "users": sorted(data["users"]),
            }
        )
    )


def read_report(report: Path) -> dict[str, Any]:
    raw = json.loads(report.read_text())
    return {
        "bodies": [bytes.fromhex(body) for body in raw["bodies"]],
        "files": {name: bytes.fromhex(content) for name, content in raw["files"].items()},
        "users": set(raw["users"]),
    }
