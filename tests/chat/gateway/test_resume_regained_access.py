"""An abnormally closed connection's record uses its *safe* cursors (a snapshot taken
SAFE_LAG_SECS earlier, realtime.checkpoint). A channel dropped by a re-check (access lost), a
message said, access regained and the channel subscribed again inside that window must not
leave the pre-loss cursor in the record: the record is saved after the access stamps, so a
Resume from there would replay what was said while the user could not see the channel. A safe
cursor is never older than the connection's current join of the group."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat.permissions import Permission
from realtime import checkpoint
from tests.chat.gateway.conftest import _fresh_gateway, users  # noqa: F401
from tests.chat.gateway.test_access_revoked import (  # noqa: F401
    _connect,
    _resume,
    _say,
    _texts,
    world,
)
from tests.helpers import Api, TestUser

pytestmark = pytest.mark.django_db(transaction=True)

LAG = checkpoint.SAFE_LAG_SECS  # the real value (2 s): no monkeypatching


@pytest.mark.parametrize("change", ["overwrite", "kick"])
async def test_hidden_then_shown_then_abnormal_close_does_not_replay_the_hidden_window(
    users: dict[str, TestUser],  # noqa: F811
    world: dict[str, str],  # noqa: F811
    api: Api,
    change: str,
) -> None:
    alice = await _connect(users["alice"])
    bob = await _connect(users["bob"])
    await bob.subscribe(world["second"])
    await asyncio.sleep(LAG + 0.1)
    await bob.send({"type": "Ping"})  # snapshot: pending now holds the "second" cursor
    await bob.expect("Pong")

    overwrite = f"/api/v1/channels/{world['second']}/overwrites"
    owner = api.as_("alice")
    deny = {"target_type": "member", "target_id": users["bob"].id, "allow_bits": "0"}
    if change == "overwrite":
        hidden = await sync_to_async(owner.put)(
            overwrite, {**deny, "deny_bits": str(int(Permission.VIEW_CHANNELS))}
        )
    else:
        hidden = await sync_to_async(owner.delete)(
            f"/api/v1/servers/{world['id']}/members/{users['bob'].id}"
        )
    assert hidden.status_code == 200
    await asyncio.sleep(0.3)  # the recheck drops bob's subscription
    await _say(alice, world["second"], "said while bob could not see the channel")
    if change == "overwrite":
        shown = await sync_to_async(owner.put)(overwrite, {**deny, "deny_bits": "0"})
    else:
        invite = (
            await sync_to_async(owner.post)(f"/api/v1/servers/{world['id']}/invites", {})
        ).json()
        shown = await sync_to_async(api.as_("bob").post)(f"/api/v1/invites/{invite['code']}/join")
    assert shown.status_code == 200

    await asyncio.sleep(LAG + 0.1)
    # This frame rotates the snapshot: safe = the cursor from before the channel was hidden.
    await bob.send({"type": "Subscribe", "payload": {"channel_id": world["second"]}})
    live = []
    while (frame := await bob.recv())["type"] != "Subscribed":
        live.append(frame)
    await bob.sync()
    live += bob.pending
    assert _texts(live) == []  # the live path is fine
    await bob.close(1006)  # abnormal: the record uses the safe cursors

    again = await _connect(users["bob"])
    replayed, end = await _resume(again, bob.session_id)
    assert _texts(replayed) == [], (end, replayed)
    await again.close()
    await alice.close()
