"""The per-process caches of sessions, memberships, roles and overwrites (haven_site.epochs) seen
from outside: two real server processes on one PostgreSQL and one Redis. Process A has served
the user (its caches are warm); every change is made through process B; the user's very next
request to A must see it (docs/security.md, "Access taken away"). Once without rate limits (each
unit of work reads its epochs itself) and once with them, as in production (the rate limit's
round trip reads them)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from chat.permissions import Permission
from tests.processes import (
    HavenProcess,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    prepare_database,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class Pair:
    def __init__(self, rate_limits: bool) -> None:
        env = live_env(
            live_database_url(os.environ["DATABASE_URL"]),
            live_redis_url(os.environ["REDIS_URL"]),
            RATE_LIMITS_ENABLED=str(rate_limits).lower(),
            MAX_REQUESTS_PER_MINUTE="100000",
        )
        prepare_database(env)
        self.a = live_process(env, "cache-a").start()
        self.b = live_process(env, "cache-b").start()

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


@pytest.fixture(scope="module", params=[False, True], ids=["no-rate-limits", "rate-limits"])
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    running = Pair(rate_limits=request.param)
    try:
        yield running
    finally:
        running.stop()


def call(server: HavenProcess, method: str, path: str, token: str, body: Any = None) -> Any:
    return httpx.request(
        method,
        f"{server.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def message() -> dict[str, Any]:
    return {
        "channel_id": str(uuid.uuid4()),
        "sender_token": base64.b64encode(b"token").decode(),
        "encrypted_body": base64.b64encode(os.urandom(48)).decode(),
        "has_attachments": False,
    }


@pytest.fixture
def setup(pair: Pair) -> dict[str, Any]:
    owner = pair.b.register(f"o{uuid.uuid4().hex[:10]}")
    member = pair.b.register(f"m{uuid.uuid4().hex[:10]}")
    server = pair.b.rest("POST", "/servers", owner["token"], {"encrypted_meta": "e30="})
    code = pair.b.rest("POST", f"/servers/{server['id']}/invites", owner["token"], {})["code"]
    pair.b.rest("POST", f"/invites/{code}/join", member["token"])
    channel = server["system_channel_id"]
    everyone = pair.b.rest("GET", f"/servers/{server['id']}/roles", owner["token"])[0]["id"]
    for _ in range(2):  # warm: A has read the session, channel, membership, roles, overwrites
        assert (
            call(
                pair.a, "POST", f"/channels/{channel}/messages", member["token"], message()
            ).status_code
            == 200
        )
        assert (
            call(pair.a, "GET", f"/channels/{channel}/messages", member["token"]).status_code == 200
        )
        assert call(pair.a, "GET", "/servers", member["token"]).status_code == 200
    return {
        "owner": owner,
        "member": member,
        "server": server["id"],
        "channel": channel,
        "everyone": everyone,
    }


def test_an_overwrite_changed_elsewhere_applies_at_once(pair: Pair, setup: dict[str, Any]) -> None:
    channel, token = setup["channel"], setup["member"]["token"]
    deny = {
        "target_type": "role",
        "target_id": setup["everyone"],
        "allow_bits": "0",
        "deny_bits": str(int(Permission.SEND_MESSAGES)),
    }
    pair.b.rest("PUT", f"/channels/{channel}/overwrites", setup["owner"]["token"], deny)
    refused = call(pair.a, "POST", f"/channels/{channel}/messages", token, message())
    assert refused.status_code == 403, refused.text
    deny["deny_bits"] = str(int(Permission.VIEW_CHANNELS))
    pair.b.rest("PUT", f"/channels/{channel}/overwrites", setup["owner"]["token"], deny)
    assert call(pair.a, "GET", f"/channels/{channel}/messages", token).status_code == 403


def test_a_kick_elsewhere_applies_at_once_on_every_path(pair: Pair, setup: dict[str, Any]) -> None:
    channel, token = setup["channel"], setup["member"]["token"]

    async def socket_then_kick() -> list[dict[str, Any]]:
        async with websockets.connect(pair.a.ws_url(token)) as ws:
            assert json.loads(await ws.recv())["type"] == "Hello"
            path = f"/servers/{setup['server']}/members/{setup['member']['id']}"
            await asyncio.to_thread(pair.b.rest, "DELETE", path, setup["owner"]["token"])
            body = {k: v for k, v in message().items() if k != "has_attachments"}
            body["channel_id"] = channel
            await ws.send(json.dumps({"type": "SendMessage", "payload": body}))
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["type"] not in ("Error", "MessageAck"):
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            return frames

    frames = asyncio.run(socket_then_kick())
    assert frames[-1] == {"type": "Error", "payload": {"message": "Not a member of this channel"}}
    assert (
        call(pair.a, "POST", f"/channels/{channel}/messages", token, message()).status_code == 403
    )
    assert call(pair.a, "GET", f"/channels/{channel}/messages", token).status_code == 403
    assert call(pair.a, "GET", "/servers", token).json() == []


def test_a_session_revoked_elsewhere_is_refused_at_once(pair: Pair, setup: dict[str, Any]) -> None:
    token = setup["member"]["token"]
    assert call(pair.b, "POST", "/auth/logout", token, {}).status_code == 200
    refused = call(pair.a, "GET", "/servers", token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "Invalid token"
