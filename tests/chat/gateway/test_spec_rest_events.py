"""Events emitted by REST routes (websocket.md 4.0 / 4.3, api.md appendix A)."""

# ruff: noqa: F811 - fixtures imported from the modules that define them

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.chat.gateway.conftest import settle
from tests.chat.gateway.test_operations import connect, send, world  # noqa: F401
from tests.helpers import Api, TestUser

pytestmark = pytest.mark.django_db(transaction=True)

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def call(api: Api, who: str, method: str, path: str, body: Any = None) -> Any:
    response = await sync_to_async(getattr(api.as_(who), method))(path, body)
    assert response.status_code == 200, response
    return response.json() if response.content else None


async def test_timeout_event_reaches_every_member_unsubscribed(
    api: Api, users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    alice, bob = await connect(users, "alice"), await connect(users, "bob")
    sid = str(world["server"])
    await call(
        api,
        "alice",
        "put",
        f"/api/v1/servers/{sid}/members/{users['bob'].id}/timeout",
        {"duration_seconds": 60},
    )
    for ws in (alice, bob):
        frame = await ws.expect("MemberTimedOut")
        assert set(frame["payload"]) == {"server_id", "user_id", "timed_out_until"}
        assert frame["payload"]["server_id"] == sid
        assert frame["payload"]["user_id"] == users["bob"].id
        assert TS.match(frame["payload"]["timed_out_until"])
    await call(
        api,
        "alice",
        "put",
        f"/api/v1/servers/{sid}/members/{users['bob'].id}/timeout",
        {"duration_seconds": 0},
    )
    for ws in (alice, bob):
        frame = await ws.expect("MemberTimedOut")
        assert frame["payload"]["timed_out_until"] is None
    await alice.close()
    await bob.close()


async def test_server_updated_on_channel_create(
    api: Api, users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    sid = str(world["server"])
    await call(
        api, "alice", "post", f"/api/v1/servers/{sid}/channels", {"encrypted_meta": b64(b"meta")}
    )
    frame = await bob.expect("ServerUpdated")
    assert frame["payload"] == {"server_id": sid}
    await bob.close()


async def test_friend_and_dm_events(api: Api, users: dict[str, TestUser]) -> None:
    carol = await connect(users, "carol")
    result = await call(api, "alice", "post", "/api/v1/friends/request", {"username": "carol"})
    frame = await carol.expect("FriendRequestReceived")
    assert set(frame["payload"]) == {"from_user_id", "from_username", "friendship_id"}
    assert frame["payload"]["from_user_id"] == users["alice"].id
    assert frame["payload"]["from_username"] == "alice"
    fid = frame["payload"]["friendship_id"]
    alice = await connect(users, "alice")
    await call(api, "carol", "post", f"/api/v1/friends/{fid}/accept")
    acc = await alice.expect("FriendRequestAccepted")
    assert acc["payload"] == {
        "user_id": users["carol"].id,
        "username": "carol",
        "friendship_id": fid,
    }
    await call(api, "carol", "delete", f"/api/v1/friends/{fid}")
    rem = await alice.expect("FriendRemoved")
    assert rem["payload"] == {"user_id": users["carol"].id}
    bob = await connect(users, "bob")
    dm = await call(
        api,
        "alice",
        "post",
        "/api/v1/dm",
        {"target_user_id": users["bob"].id, "encrypted_meta": b64(b"m")},
    )
    assert dm["dm_status"] == "pending"
    req = await bob.expect("DmRequestReceived")
    assert req["payload"] == {"channel_id": dm["id"], "from_user_id": users["alice"].id}
    del result
    for ws in (alice, bob, carol):
        await ws.close()


async def test_sender_keys_and_bulk_delete(
    api: Api, users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    await call(
        api,
        "alice",
        "post",
        f"/api/v1/channels/{world['text']}/sender-keys",
        {
            "distributions": [
                {
                    "to_user_id": users["bob"].id,
                    "distribution_id": str(uuid.uuid4()),
                    "encrypted_skdm": b64(b"k"),
                }
            ]
        },
    )
    frame = await bob.expect("SenderKeysUpdated")
    assert frame["payload"] == {"channel_id": world["text"]}
    alice = await connect(users, "alice")
    m1 = await send(alice, world["text"])
    await bob.expect("NewMessage")
    bogus = str(uuid.uuid4())
    await call(
        api,
        "alice",
        "post",
        f"/api/v1/channels/{world['text']}/messages/bulk-delete",
        {"message_ids": [m1, bogus]},
    )
    frame = await bob.expect("BulkMessagesDeleted")
    assert frame["payload"] == {"channel_id": world["text"], "message_ids": [m1]}
    await call(api, "alice", "put", f"/api/v1/channels/{world['text']}/read-state")
    read = await alice.expect("ReadStateUpdated")
    assert TS.match(read["payload"]["last_read_at"])
    await alice.close()
    await bob.close()


async def test_rest_send_delivers_like_ws(
    api: Api, users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    bob = await connect(users, "bob")
    await bob.subscribe(world["text"])
    body = {
        "channel_id": world["text"],
        "sender_token": b64(b"t"),
        "encrypted_body": b64(b"b"),
        "has_attachments": False,
    }
    msg = await call(api, "alice", "post", f"/api/v1/channels/{world['text']}/messages", body)
    frame = await bob.expect("NewMessage")
    assert frame["payload"] == msg
    await bob.silent(0.2)
    await bob.close()


async def test_account_deleted_error_then_close(
    api: Api, users: dict[str, TestUser], world: dict[str, Any]
) -> None:
    bob = await connect(users, "bob")
    r = await sync_to_async(api.as_("bob").post)(
        "/api/v1/auth/delete-account", {"password": users["bob"].password}
    )
    assert r.status_code in (200, 204), r
    while True:
        out = await bob.recv_raw()
        if out["type"] == "websocket.close":
            pytest.fail("closed before Error")
        frame = json.loads(out["text"])
        if frame["type"] == "Error":
            assert frame["payload"] == {"message": "Account deleted"}
            break
    out = await bob.recv_raw()
    assert out["type"] == "websocket.close", out
    await settle()
