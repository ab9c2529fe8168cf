"""A stand-in for the realtime gateway, for browser tests of the client's live path only.

The real gateway (websocket.md) is built elsewhere; until it lands, this consumer speaks just
enough of the protocol to drive realtime.js: Hello, Ping/Pong, Subscribe, Resume (always
InvalidSession), SendMessage with MessageAck, EditMessage, DeleteMessage, Add/RemoveReaction,
PinMessage, Typing (UserTyping to subscribers). It calls the same actions the gateway will,
and events reach it through the channel layer groups of ``chat.events``. Run with
``python -m haven_site.serve tests.e2e.gateway_stub:application``.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any
from urllib.parse import parse_qs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haven_site.settings")

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from django.urls import path  # noqa: E402

from accounts.authentication import user_for_token  # noqa: E402
from chat.access import access_channel  # noqa: E402
from chat.actions import messages, pins, reactions  # noqa: E402
from chat.events import channel_group, encode_frame, user_group  # noqa: E402
from haven_site.api.errors import ApiError  # noqa: E402
from haven_site.asgi_guards import EdgeGuard  # noqa: E402


class StubGateway(AsyncWebsocketConsumer):  # type: ignore[misc]
    user: Any = None

    async def connect(self) -> None:
        query = parse_qs(self.scope["query_string"].decode())
        try:
            self.user, _ = await database_sync_to_async(user_for_token)(query.get("token", [""])[0])
        except ApiError:
            await self.close()
            return
        await self.accept()
        await self.reply("Hello", {"session_id": str(uuid.uuid4()), "heartbeat_interval_ms": 30000})
        await self.channel_layer.group_add(user_group(self.user.id), self.channel_name)

    async def reply(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        await self.send(text_data=encode_frame(kind, payload))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "{}")
        kind, p = message.get("type"), message.get("payload") or {}
        try:
            await self.handle(kind, p)
        except ApiError as error:
            await self.reply("Error", {"message": error.message})

    async def handle(self, kind: str, p: dict[str, Any]) -> None:
        run = database_sync_to_async
        user = self.user
        if kind == "Ping":
            await self.reply("Pong")
        elif kind == "Resume":
            await self.reply("InvalidSession")
        elif kind == "Subscribe":
            channel_id = uuid.UUID(p["channel_id"])
            await run(access_channel)(user.id, channel_id)
            await self.channel_layer.group_add(channel_group(channel_id), self.channel_name)
            await self.reply("Subscribed", {"channel_id": str(channel_id)})
        elif kind == "SendMessage":
            sent = await run(messages.send_message)(
                user, uuid.UUID(p["channel_id"]), sender_token=p["sender_token"],
                encrypted_body=p["encrypted_body"], nonce=p.get("nonce"),
                reply_to_id=uuid.UUID(p["reply_to_id"]) if p.get("reply_to_id") else None,
            )  # fmt: skip
            await self.reply("MessageAck", {"message_id": str(sent.id)})
        elif kind == "EditMessage":
            await run(messages.edit_message)(user, uuid.UUID(p["message_id"]), p["encrypted_body"])
        elif kind == "DeleteMessage":
            await run(messages.delete_message)(user, uuid.UUID(p["message_id"]))
        elif kind == "AddReaction":
            await run(reactions.add_reaction)(user, uuid.UUID(p["message_id"]), p["emoji"])
        elif kind == "RemoveReaction":
            await run(reactions.remove_reaction)(user, uuid.UUID(p["message_id"]), p["emoji"])
        elif kind == "PinMessage":
            await run(pins.pin_message)(
                user, uuid.UUID(p["channel_id"]), uuid.UUID(p["message_id"])
            )
        elif kind == "Typing":
            frame = {
                "channel_id": p["channel_id"],
                "user_id": str(user.id),
                "username": user.username,
            }
            await self.channel_layer.group_send(
                channel_group(uuid.UUID(p["channel_id"])),
                {"type": "gateway.event", "frame": encode_frame("UserTyping", frame)},
            )

    async def gateway_event(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["frame"])

    async def gateway_control(self, event: dict[str, Any]) -> None:
        """Access changes: the real gateway re-checks subscriptions; the stub ignores them."""


application = EdgeGuard(
    ProtocolTypeRouter(
        {
            "http": django_application,
            "websocket": URLRouter([path("api/v1/ws", StubGateway.as_asgi())]),
        }
    )
)
