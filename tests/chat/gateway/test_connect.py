"""Handshake, Hello, heartbeat, envelope errors and limits (websocket.md 1-2)."""

from __future__ import annotations

import time
import uuid

import pytest
from rest_framework_simplejwt.state import token_backend

from tests.chat.gateway.conftest import Ws
from tests.helpers import TestUser, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)

FORMAT = "Invalid message format: "


async def test_hello_is_the_first_frame_then_ping_pong(users: dict[str, TestUser]) -> None:
    ws = Ws(users["alice"].access_token)
    hello = await ws.open()
    assert set(hello) == {"type", "payload"}
    assert hello["payload"]["heartbeat_interval_ms"] == 30000
    assert str(uuid.UUID(hello["payload"]["session_id"])) == hello["payload"]["session_id"]
    await ws.send('{"type":"Ping"}')
    assert await ws.recv() == {"type": "Pong"}
    await ws.send('{"type":"Ping","payload":null,"extra":1}')
    assert await ws.recv() == {"type": "Pong"}
    await ws.close()


async def test_frames_are_read_without_a_task_per_frame(
    users: dict[str, TestUser], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer reads its frames directly (docs/performance.md, "The fifth round"):
    Channels' loop would start a task and an asyncio.wait for each."""
    import asyncio

    waits = 0
    original = asyncio.wait

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal waits
        waits += 1
        return await original(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(asyncio, "wait", counting)
    ws = Ws(users["alice"].access_token)
    await ws.open()
    for _ in range(5):
        await ws.send('{"type":"Ping"}')
        assert await ws.recv() == {"type": "Pong"}
    await ws.close()
    assert waits == 0


async def test_heartbeat_interval_follows_the_timeout(users: dict[str, TestUser]) -> None:
    with haven_settings(ws_heartbeat_timeout_secs=30):
        ws = Ws(users["alice"].access_token)
        hello = await ws.open()
        assert hello["payload"]["heartbeat_interval_ms"] == 10000
        await ws.close()


async def test_missing_token_is_400_plain_text(users: dict[str, TestUser]) -> None:
    status, headers, body = await Ws(None, query="").refused()
    assert status == 400
    assert headers["content-type"].startswith("text/plain")
    assert b"missing field `token`" in body


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c"])
async def test_bad_token_is_401_json(users: dict[str, TestUser], token: str) -> None:
    status, headers, body = await Ws(token).refused()
    assert (status, headers["content-type"]) == (401, "application/json")
    assert body == b'{"error": "Invalid token", "status": 401}' or (
        b'"Invalid token"' in body and b"401" in body
    )


async def test_expired_token_is_401_token_expired(users: dict[str, TestUser]) -> None:
    now = int(time.time())
    token = token_backend.encode(
        {
            "sub": users["alice"].id,
            "iat": now - 7200,
            "exp": now - 3600,
            "jti": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
        }
    )
    status, _, body = await Ws(token).refused()
    assert status == 401
    assert b'"Token expired"' in body


async def test_token_of_an_ended_login_session_is_refused(users: dict[str, TestUser]) -> None:
    from asgiref.sync import sync_to_async

    from accounts.actions.auth import do_logout
    from accounts.models import User

    user = await User.objects.aget(id=users["alice"].id)
    await sync_to_async(do_logout)(user)
    status, _, body = await Ws(users["alice"].access_token).refused()
    assert status == 401
    assert b'"Invalid token"' in body


async def test_without_the_denial_extension_the_handshake_is_closed(
    users: dict[str, TestUser],
) -> None:
    ws = Ws("garbage", denial=False)
    connected, code = await ws.comm.connect()
    assert (connected, code) == (False, 1008)


async def test_connection_limit_counts_open_connections(users: dict[str, TestUser]) -> None:
    token = users["alice"].access_token
    with haven_settings(max_ws_connections_per_user=2):
        first, second = Ws(token), Ws(token)
        await first.open()
        await second.open()
        status, _, body = await Ws(token).refused()
        assert status == 400
        assert b'"Maximum 2 connections per user exceeded"' in body
        # Other users are not affected; a closed connection frees its place.
        other = Ws(users["bob"].access_token)
        await other.open()
        await first.close()
        third = Ws(token)
        await third.open()
        for ws in (second, third, other):
            await ws.close()


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('{"bad": true}', "missing field `type`"),
        ("not json", ""),
        ('{"type":"Nope"}', "unknown variant `Nope`"),
        ('{"type":"ping"}', "unknown variant `ping`"),
        ('{"type":"Subscribe"}', "missing field `payload`"),
        ('{"type":"Subscribe","payload":null}', "missing field `payload`"),
        ('{"type":"Ping","payload":{}}', "expected unit variant"),
        ('{"type":"Subscribe","payload":{"channel_id":"abc"}}', "UUID parsing failed"),
        ('{"type":"Subscribe","payload":{"channel_id":5}}', "channel_id"),
        ('{"type":"Subscribe","payload":{}}', "missing field `channel_id`"),
        ('{"type":"SetStatus","payload":{"status":1}}', "status"),
        ('{"type":"Resume","payload":[1]}', "payload"),
        ("[1, 2]", "expected an object"),
        ('{"type": 5}', "type"),
    ],
)
async def test_malformed_messages_answer_error_and_keep_the_socket(
    users: dict[str, TestUser], text: str, detail: str
) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    await ws.send(text)
    error = await ws.expect("Error")
    assert error["payload"]["message"].startswith(FORMAT)
    assert detail in error["payload"]["message"]
    await ws.send({"type": "Ping"})
    await ws.expect("Pong")
    await ws.close()


async def test_uuid_inputs_accept_every_form(users: dict[str, TestUser], server: dict) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    raw = server["first"]
    for form in (str(raw).upper(), raw.hex, "{" + str(raw) + "}", f"urn:uuid:{raw}"):
        await ws.send({"type": "Subscribe", "payload": {"channel_id": form}})
        frame = await ws.expect("Subscribed")
        assert frame["payload"]["channel_id"] == str(raw)
    await ws.close()


async def test_large_messages_are_accepted_and_huge_ones_close_1009(
    users: dict[str, TestUser],
) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    await ws.send('{"type":"Ping","pad":"' + "x" * 70_000 + '"}')
    await ws.expect("Pong")
    await ws.send('{"type":"Ping","pad":"' + "x" * (1024 * 1024) + '"}')
    closed = await ws.recv_raw()
    assert closed == {"type": "websocket.close", "code": 1009}
    await ws.close(1009)


async def test_binary_frames_are_ignored(users: dict[str, TestUser]) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    await ws.comm.send_input({"type": "websocket.receive", "bytes": b'{"type":"Ping"}'})
    await ws.silent()
    await ws.close()


async def test_idle_connection_is_closed_and_any_frame_restarts_the_timer(
    users: dict[str, TestUser],
) -> None:
    with haven_settings(ws_heartbeat_timeout_secs=3):
        ws = Ws(users["alice"].access_token)
        await ws.open()
        started = time.monotonic()
        await ws.comm.receive_nothing(2)
        await ws.comm.send_input({"type": "haven.activity"})  # a WebSocket ping frame
        output = await ws.recv_raw(wait=6)
        assert output == {"type": "websocket.close", "code": 1000}
        assert time.monotonic() - started >= 4.5
        await ws.close(1006)
