"""The gateway's message operations (websocket.md 3.1-3.5, 3.9-3.11): SendMessage, EditMessage,
DeleteMessage, AddReaction, RemoveReaction, PinMessage, UnpinMessage, MarkRead.

Thin handlers: the envelope is decoded by ``realtime.protocol`` (the declared field kinds),
the work is one call of a chat action (docs/api-messages.md) in a worker thread as the
connection's user (``GatewayConsumer.act``, or ``act_limited`` after the operation's rate limit),
and an ``ApiError`` becomes ``Error {message}`` with
the action's exact text. Events are published by the actions, after commit, to their audiences.

Registered when the chat app is ready (``chat.apps.ChatConfig.ready``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError

from chat.actions import messages, pins, reactions, read_states
from chat.gateway.consumer import GatewayConsumer
from haven_site.api.errors import ApiError
from realtime import protocol

logger = logging.getLogger("haven.gateway")

K = protocol.Kind

SAVE_FAILED = "Failed to save message"

# Every operation here but MarkRead is counted against its own per-user limit before anything
# else, refused attempts included (websocket.md 8; docs/realtime.md, "Rate limits"):
# ``act_limited`` counts it in the action's own thread hop and answers ``Error RATE_LIMITED``.


@protocol.client_message(
    "SendMessage",
    channel_id=K.UUID,
    sender_token=K.STR,
    encrypted_body=K.STR,
    expires_at=K.OPT_TIMESTAMP,
    attachment_ids=K.OPT_UUID_LIST,
    reply_to_id=K.OPT_UUID,
    nonce=K.OPT_STR,  # this port's idempotent retries (docs/api-messages.md)
)
async def send_message(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """Rate limit first (``WS_RATE_LIMIT_SEND``, 30 per 10 s per user by default), then the
    action (steps 2-8, 10-11), then ``MessageAck``.

    The ack reaches this connection before its own ``NewMessage`` echo (websocket.md 2.6): the
    consumer handles one thing at a time, so the echo's doorbell, which arrives while this
    handler runs, waits in the connection's backlog until the handler (and its ack) is done.
    A retried ``nonce`` returns the stored message: the ack again, and no second NewMessage.
    """
    try:
        message = await conn.act_limited(
            "send",
            messages.do_send_message,
            payload["channel_id"],
            sender_token=payload["sender_token"],
            encrypted_body=payload["encrypted_body"],
            expires_at=payload["expires_at"],
            attachment_ids=payload["attachment_ids"],
            reply_to_id=payload["reply_to_id"],
            nonce=payload["nonce"],
            via_websocket=True,
        )
    except DatabaseError:
        logger.exception("SendMessage could not store the message")
        raise ApiError(SAVE_FAILED) from None
    await conn.send_event("MessageAck", {"message_id": str(message.id)})


@protocol.client_message("EditMessage", message_id=K.UUID, encrypted_body=K.STR)
async def edit_message(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited(
        "edit", messages.do_edit_message, payload["message_id"], payload["encrypted_body"]
    )


@protocol.client_message("DeleteMessage", message_id=K.UUID)
async def delete_message(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited("delete", messages.do_delete_message, payload["message_id"])


@protocol.client_message("AddReaction", message_id=K.UUID, emoji=K.STR)
async def add_reaction(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited(
        "reaction", reactions.do_add_reaction, payload["message_id"], payload["emoji"]
    )


@protocol.client_message("RemoveReaction", message_id=K.UUID, emoji=K.STR)
async def remove_reaction(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited(
        "reaction", reactions.do_remove_reaction, payload["message_id"], payload["emoji"]
    )


@protocol.client_message("PinMessage", channel_id=K.UUID, message_id=K.UUID)
async def pin_message(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited("pin", pins.do_pin_message, payload["channel_id"], payload["message_id"])


@protocol.client_message("UnpinMessage", channel_id=K.UUID, message_id=K.UUID)
async def unpin_message(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    await conn.act_limited(
        "pin", pins.do_unpin_message, payload["channel_id"], payload["message_id"]
    )


@protocol.client_message("MarkRead", channel_id=K.UUID)
async def mark_read(conn: GatewayConsumer, payload: dict[str, Any]) -> None:
    """``ReadStateUpdated`` goes to every connection of the user through its user group, this
    one included: that copy is the confirmation (websocket.md 3.11)."""
    await conn.act(read_states.do_mark_read, payload["channel_id"], via_websocket=True)
