"""Malformed WebSocket frames (websocket.md 2.3): the reply is an `Error` whose message
starts with `Invalid message format: ` and the connection stays open."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat.models import Reaction
from tests.chat.gateway.conftest import Ws, _fresh_gateway, users  # noqa: F401 (fixtures)
from tests.factories import make_server, post
from tests.helpers import TestUser, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)

FORMAT = "Invalid message format: "


@pytest.fixture(autouse=True)
def _limits_off() -> Iterator[None]:
    with haven_settings(rate_limits_enabled=False):
        yield


async def still_open(ws: Ws) -> None:
    await ws.send({"type": "Ping"})
    await ws.expect("Pong")


async def test_deeply_nested_frame_is_a_format_error_and_the_socket_stays_open(
    users: dict[str, TestUser],  # noqa: F811
) -> None:
    ws = Ws(users["alice"].access_token)
    await ws.open()
    depth = 100_000  # 200 KB, well under the 1 MiB frame cap
    await ws.send('{"type":"Ping","pad":' + "[" * depth + "]" * depth + "}")
    frame = await ws.recv()
    assert frame["type"] == "Error", frame
    assert frame["payload"]["message"].startswith(FORMAT), frame
    await still_open(ws)
    await ws.close()


def _message(alice: str) -> str:
    server = make_server(uuid.UUID(alice)).server
    assert server.system_channel is not None
    return str(post(server.system_channel, uuid.UUID(alice)).id)


async def test_lone_surrogate_reaction_is_a_format_error(
    users: dict[str, TestUser],  # noqa: F811
) -> None:
    """`\\ud83d` alone is not a Unicode scalar value: the original's parser refuses the frame
    (`Invalid message format`); it cannot be stored in PostgreSQL either."""
    message_id = await sync_to_async(_message)(users["alice"].id)
    ws = Ws(users["alice"].access_token)
    await ws.open()
    payload = f'{{"message_id":"{message_id}","emoji":"\\ud83d"}}'
    await ws.send(f'{{"type":"AddReaction","payload":{payload}}}')
    frame: dict[str, Any] = await ws.expect("Error")
    assert frame["payload"]["message"].startswith(FORMAT), frame
    assert not await sync_to_async(Reaction.objects.exists)()
    await still_open(ws)
    await ws.close()
