"""Each way of losing access, through the real REST routes, ends live delivery on an open socket
at once (no NewMessage about the channel) and every action there; typing needs SEND_MESSAGES."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chat.permissions import Permission
from tests.chat.gateway.conftest import _fresh_gateway, users  # noqa: F401
from tests.chat.gateway.test_access_revoked import (  # noqa: F401
    _connect,
    _say,
    _texts,
    world,
)
from tests.helpers import Api, TestUser

pytestmark = pytest.mark.django_db(transaction=True)
VIEW = int(Permission.VIEW_CHANNELS)
P = "/api/v1"


def _send_message(channel: str) -> dict[str, Any]:
    payload = {"channel_id": channel, "sender_token": "dA==", "encrypted_body": "dA=="}
    return {"type": "SendMessage", "payload": payload}


def _call(api: Api, user: str, method: str, path: str, body: Any = None) -> Any:
    call = getattr(api.as_(user), method)
    response = call(P + path) if body is None else call(P + path, body)
    assert response.status_code in (200, 204), response
    return response


def _setup_role(api: Api, w: dict[str, str]) -> None:
    """@everyone loses VIEW_CHANNELS; bob sees the server only through a role."""
    roles = _call(api, "alice", "get", f"/servers/{w['id']}/roles").json()
    everyone = next(r for r in roles if r.get("is_default") or r["name"] == "@everyone")
    send = int(Permission.SEND_MESSAGES)
    _call(
        api,
        "alice",
        "put",
        f"/servers/{w['id']}/roles/{everyone['id']}",
        {"permissions": str(send)},
    )
    bits = VIEW | send | int(Permission.ADD_REACTIONS)
    role = {"name": "viewers", "permissions": str(bits), "position": 1}
    w["role"] = _call(api, "alice", "post", f"/servers/{w['id']}/roles", role).json()["id"]
    member_roles = f"/servers/{w['id']}/members/{api.users['bob'].id}/roles"
    _call(api, "alice", "put", member_roles, {"role_id": w["role"]})


def _change(api: Api, w: dict[str, str], how: str) -> None:
    bob = api.users["bob"].id
    if how == "ban":
        _call(api, "alice", "post", f"/servers/{w['id']}/bans/{bob}", {})
    elif how == "role removed":
        _call(api, "alice", "delete", f"/servers/{w['id']}/members/{bob}/roles/{w['role']}")
    elif how == "role updated":
        without_view = {"permissions": str(int(Permission.SEND_MESSAGES))}
        _call(api, "alice", "put", f"/servers/{w['id']}/roles/{w['role']}", without_view)
    elif how == "role deleted":
        _call(api, "alice", "delete", f"/servers/{w['id']}/roles/{w['role']}")
    elif how == "role overwrite":
        hide = {"target_type": "role", "target_id": w["role"], "allow_bits": "0"}
        _call(
            api,
            "alice",
            "put",
            f"/channels/{w['second']}/overwrites",
            {**hide, "deny_bits": str(VIEW)},
        )


HOWS = ["ban", "role removed", "role updated", "role deleted", "role overwrite"]


@pytest.mark.parametrize("how", HOWS)
async def test_live_socket_stops_receiving_and_acting(
    how: str,
    users: dict[str, TestUser],  # noqa: F811
    world: dict[str, str],  # noqa: F811
    api: Api,
) -> None:
    if how != "ban":
        await sync_to_async(_setup_role)(api, world)
    alice = await _connect(users["alice"])
    await alice.subscribe(world["second"])
    bob = await _connect(users["bob"])
    await bob.subscribe(world["second"])
    await _say(alice, world["second"], "before")
    await sync_to_async(_change)(api, world, how)
    await asyncio.sleep(0.2)
    await _say(alice, world["second"], "after")
    await bob.send({"type": "Typing", "payload": {"channel_id": world["second"]}})
    await bob.send(_send_message(world["second"]))
    await bob.sync()
    texts = _texts(bob.pending)
    assert "after" not in texts, bob.pending
    errors = [f for f in bob.pending if f["type"] == "Error"]
    assert errors, bob.pending  # the SendMessage was refused
    await alice.sync()
    assert [f for f in alice.pending if f["type"] == "UserTyping"] == []
    await bob.close()
    await alice.close()


async def test_typing_needs_send_messages(
    users: dict[str, TestUser],  # noqa: F811
    world: dict[str, str],  # noqa: F811
    api: Api,
) -> None:
    """bob loses SEND_MESSAGES in the channel (an overwrite): his SendMessage is refused, and his
    Typing is dropped (it would announce a message that cannot come)."""
    alice = await _connect(users["alice"])
    await alice.subscribe(world["second"])
    bob = await _connect(users["bob"])
    no_send = {
        "target_type": "member",
        "target_id": users["bob"].id,
        "allow_bits": "0",
        "deny_bits": str(int(Permission.SEND_MESSAGES)),
    }
    overwrites = f"/channels/{world['second']}/overwrites"
    await sync_to_async(_call)(api, "alice", "put", overwrites, no_send)
    await bob.send(_send_message(world["second"]))
    assert (await bob.expect("Error"))["payload"]["message"] == "Missing required permission"
    await bob.send({"type": "Typing", "payload": {"channel_id": world["second"]}})
    await bob.sync()
    await asyncio.sleep(0.2)
    await alice.sync()
    assert [f for f in alice.pending if f["type"] == "UserTyping"] == []
    await bob.close()
    await alice.close()
