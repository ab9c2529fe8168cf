"""Publish test events through realtime.events (tests and benchmarks only, never production use).

    manage.py gateway_publish --user <uuid> --count 5            # 5 events to a user's sockets
    manage.py gateway_publish --channel <uuid> --count 5 --interval 0.05
    manage.py gateway_publish --fixture <owner uuid> [--member <uuid> ...]   # server + channel

Each event is ``ReadStateUpdated`` with ``last_read_at`` now and an extra ``n`` (its index in
the batch, and ``--tag`` if given) so a test can check order and completeness. ``--fixture``
creates a server owned by the user with one text channel and the given members, and prints
``{"server_id": ..., "channel_id": ...}``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from haven_site.api.encoding import ts
from realtime.events import Audience, Event, dispatch, to_channels, to_servers, to_users


class Command(BaseCommand):
    help = "Publish test events to gateway groups (tests and benchmarks)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--user", action="append", default=[])
        parser.add_argument("--channel", action="append", default=[])
        parser.add_argument("--server", action="append", default=[])
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument("--interval", type=float, default=0.0)
        parser.add_argument("--tag", default="")
        parser.add_argument("--type", default="ReadStateUpdated")
        parser.add_argument("--fixture", help="owner user id: create a server and a channel")
        parser.add_argument("--member", action="append", default=[])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["fixture"]:
            self.stdout.write(json.dumps(_fixture(options["fixture"], options["member"])))
            return
        audience = (
            to_users(*[uuid.UUID(u) for u in options["user"]])
            | to_channels(*[uuid.UUID(c) for c in options["channel"]])
            | to_servers(*[uuid.UUID(s) for s in options["server"]])
        )
        channel = options["channel"][0] if options["channel"] else str(uuid.uuid4())
        for n in range(options["count"]):
            payload = {"channel_id": channel, "last_read_at": ts(timezone.now()), "n": n}
            if options["tag"]:
                payload["tag"] = options["tag"]
            _publish(options["type"], payload, audience)
            if options["interval"]:
                time.sleep(options["interval"])
        self.stdout.write(json.dumps({"published": options["count"]}))


def _publish(event_type: str, payload: dict[str, Any], audience: Audience) -> None:
    dispatch(Event(event_type, payload, audience))


def _fixture(owner_id: str, members: list[str]) -> dict[str, str]:
    from chat.models import Channel, Server, ServerMember

    with transaction.atomic():
        server = Server.objects.create(owner_id=uuid.UUID(owner_id))
        channel = Channel.objects.create(server=server)
        for user_id in {owner_id, *members}:
            ServerMember.objects.create(server=server, user_id=uuid.UUID(user_id))
    return {"server_id": str(server.id), "channel_id": str(channel.id)}
