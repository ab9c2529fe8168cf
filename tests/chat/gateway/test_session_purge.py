"""A login session that maintenance purges (``ops.maintenance.purge_expired_sessions``, run by
``manage.py maintenance`` in a process of its own) ends like every other deletion of a session
row (docs/realtime.md, "Access taken away"): the sockets opened with it, held open in a gateway
process's memory, close (1008) and stop receiving, even one that only listens."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.models import DeviceSession, RefreshToken
from ops.maintenance import purge_expired_sessions
from tests.chat.gateway.conftest import _fresh_gateway, users  # noqa: F401
from tests.chat.gateway.test_access_revoked import (  # noqa: F401
    _connect,
    _session_of,
    _texts,
    world,
)
from tests.helpers import Api, TestUser, b64

pytestmark = pytest.mark.django_db(transaction=True)


def _expire_and_purge(session_id: uuid.UUID) -> int:
    """The session's refresh tokens run out; maintenance's purge task runs."""
    RefreshToken.objects.filter(session_id=session_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    purged = purge_expired_sessions()
    assert not DeviceSession.objects.filter(id=session_id).exists()
    return purged


async def test_a_purged_session_closes_its_socket(
    users: dict[str, TestUser],  # noqa: F811
    world: dict[str, str],  # noqa: F811
    api: Api,
) -> None:
    bob = await _connect(users["bob"])
    try:
        await bob.subscribe(world["first"])
        family = await sync_to_async(_session_of)(users["bob"].access_token)
        assert await sync_to_async(_expire_and_purge)(family) >= 1

        # Another member keeps talking in the channel bob's socket is subscribed to.
        body = {
            "channel_id": world["first"],
            "sender_token": b64(b"t"),
            "encrypted_body": b64(b"after purge"),
            "has_attachments": False,
        }
        response = await sync_to_async(api.as_("alice").post)(
            f"/api/v1/channels/{world['first']}/messages", body
        )
        assert response.status_code == 200, response

        frames: list[dict[str, Any]] = []
        while not await bob.comm.receive_nothing(1):
            out = await bob.recv_raw()
            frames.append(out)
            if out["type"] == "websocket.close":
                break
        delivered = _texts([json.loads(f["text"]) for f in frames if f["type"] == "websocket.send"])
        assert "after purge" not in delivered, "the purged session's socket still receives"
        assert {"type": "websocket.close", "code": 1008} in frames, frames
    finally:
        await bob.close(1008)
