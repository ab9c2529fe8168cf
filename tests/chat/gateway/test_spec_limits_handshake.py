"""Handshake refusals, size limits, binary frames (websocket.md 1.3, 1.6, 3.1-3.2)."""

# ruff: noqa: F811 - fixtures imported from the modules that define them

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.chat.gateway.conftest import Ws
from tests.chat.gateway.test_operations import connect, send, send_frame, world  # noqa: F401
from tests.helpers import TestUser, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


async def test_handshake_refusals(users: dict[str, TestUser]) -> None:
    status, _, body = await Ws(None, query="").refused()
    assert status == 400
    status, _, body = await Ws("").refused()
    assert (status, json.loads(body)) == (401, {"error": "Invalid token", "status": 401})
    status, _, body = await Ws("abc.def.ghi").refused()
    assert (status, json.loads(body)) == (401, {"error": "Invalid token", "status": 401})
    with haven_settings(max_ws_connections_per_user=1):
        first = Ws(users["alice"].access_token)
        await first.open()
        status, _, body = await Ws(users["alice"].access_token).refused()
        assert (status, json.loads(body)) == (
            400,
            {"error": "Maximum 1 connections per user exceeded", "status": 400},
        )
        await first.close()


async def test_sizes_and_binary(users: dict[str, TestUser], world: dict[str, Any]) -> None:
    alice = await connect(users, "alice")
    await alice.comm.send_input({"type": "websocket.receive", "bytes": b"\x00\x01"})
    await alice.silent(0.3)
    mid = await send(alice, world["text"], b"x" * 8192)
    await alice.send(send_frame(world["text"], b"x" * 8193))
    err = await alice.expect("Error")
    assert err["payload"] == {"message": "Message too large"}
    # a 200 KiB text message is accepted at the transport level
    await alice.send(send_frame(world["text"], b"y" * 150_000))
    err = await alice.expect("Error")
    assert err["payload"] == {"message": "Message too large"}
    body = base64.b64encode(b"z" * 8193).decode()
    await alice.send(
        {"type": "EditMessage", "payload": {"message_id": mid, "encrypted_body": body}}
    )
    err = await alice.expect("Error")
    assert err["payload"] == {"message": "Message too large"}
    await alice.send({"type": "EditMessage", "payload": {"message_id": mid, "encrypted_body": "a"}})
    err = await alice.expect("Error")
    assert err["payload"] == {"message": "Invalid encrypted_body encoding"}
    await alice.send(send_frame(world["text"], expires_at="2030-01-01T00:00:00"))
    err = await alice.expect("Error")
    assert err["payload"]["message"].startswith("Invalid message format: ")
    await alice.close()
