"""A server owner deleting their account deletes their servers as the owner deleting each would
(``chat.account_effects.delete_what_the_user_owns``): the members' sockets hear
``ServerDeleted``, and everyone leaves its voice channels, Haven's roster and the LiveKit
room."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from tests.chat.gateway.conftest import _fresh_gateway, users  # noqa: F401
from tests.chat.gateway.test_voice_access import (  # noqa: F401
    connect,
    fake_livekit,
    livekit,
    removals,
    rest,
    voice_event,
    world,
)
from tests.helpers import Api, TestUser
from tests.voice.livekit_fake import FakeLiveKit

pytestmark = pytest.mark.django_db(transaction=True)
P = "/api/v1"


async def test_owner_account_deletion_ends_voice_in_the_owned_server(
    users: dict[str, TestUser],  # noqa: F811
    world: dict,  # noqa: F811
    api: Api,
    livekit: type[FakeLiveKit],  # noqa: F811
) -> None:
    bob = await connect(users, "bob", world["text"])
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")
    await voice_event(bob, users["bob"].id, joined=True)
    livekit.recorded.clear()

    deleted = await sync_to_async(api.as_("alice").post)(
        f"{P}/auth/delete-account", {"password": users["alice"].password}
    )
    assert deleted.status_code == 204, deleted

    import uuid

    from voice import state

    await bob.sync()
    types = [f["type"] for f in bob.pending]
    roster = await sync_to_async(state.roster)(uuid.UUID(world["voice"]))
    problems = {
        "ServerDeleted to the members' sockets": "ServerDeleted" in types,
        "bob out of the deleted channel's roster": roster == [],
        "bob removed from the LiveKit room": removals(livekit)
        == [(world["voice"], users["bob"].id)],
    }
    assert all(problems.values()), (problems, types, roster)
    await bob.close()
