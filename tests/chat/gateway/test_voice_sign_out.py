"""When every login session of a user ends (instance admin suspension, password change, logout)
or the login session that joined voice is revoked, the user's voice participation ends: Haven's
roster *and* the LiveKit room (RemoveParticipant at the contract fake), as for a kick, ban,
timeout or lost visibility (tests/chat/gateway/test_voice_access.py). Revoking another of the
user's sessions leaves the call alone."""

from __future__ import annotations

import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.actions.admin import do_suspend
from accounts.actions.instance_audit import Actor
from accounts.models import User
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
from tests.helpers import PASSWORD, Api, TestUser
from tests.voice.livekit_fake import FakeLiveKit

pytestmark = pytest.mark.django_db(transaction=True)
P = "/api/v1"


def _suspend_bob() -> None:
    admin = User.objects.get(username="alice")  # registered first: the instance admin
    do_suspend(Actor.admin(admin), User.objects.get(username="bob"), reason="Spam")


async def _end_all(api: Api, how: str) -> None:
    if how == "suspension":
        await sync_to_async(_suspend_bob)()
    elif how == "password change":
        body = {"current_password": PASSWORD, "new_password": "another long enough passphrase 42"}
        await rest(api, "bob", "put", "/auth/password", body)
    else:
        await rest(api, "bob", "post", "/auth/logout")


@pytest.mark.parametrize("how", ["suspension", "password change", "logout"])
async def test_ending_every_session_removes_the_user_from_the_livekit_room(
    how: str,
    users: dict[str, TestUser],  # noqa: F811
    world: dict,  # noqa: F811
    api: Api,
    livekit: type[FakeLiveKit],  # noqa: F811
) -> None:
    alice = await connect(users, "alice", world["text"])
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")
    await voice_event(alice, users["bob"].id, joined=True)
    livekit.recorded.clear()

    await _end_all(api, how)

    await voice_event(alice, users["bob"].id, joined=False)  # Haven's roster: fine
    # ... but bob's client is still connected to the LiveKit room unless it is removed there.
    assert removals(livekit) == [(world["voice"], users["bob"].id)]
    await alice.close()


def _login(api: Api, username: str) -> tuple[str, uuid.UUID]:
    from accounts.authentication import user_for_token

    response = api.post("/api/v1/auth/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response
    token = str(response.json()["access_token"])
    return token, user_for_token(token)[1].session_id


async def test_revoking_the_session_that_joined_voice_cuts_that_voice(
    users: dict[str, TestUser],  # noqa: F811
    world: dict,  # noqa: F811
    api: Api,
    livekit: type[FakeLiveKit],  # noqa: F811
) -> None:
    """bob's phone (its own login session) joined voice; bob's laptop, still connected, revokes
    the phone's session (a stolen phone). The phone must not stay in the call."""
    alice = await connect(users, "alice", world["text"])
    phone_token, phone_session = await sync_to_async(_login)(api, "bob")
    laptop = await connect(users, "bob")  # bob's original session keeps a socket open
    joined = await sync_to_async(api.post)(f"{P}/voice/{world['voice']}/join", token=phone_token)
    assert joined.status_code == 200, joined
    await voice_event(alice, users["bob"].id, joined=True)
    livekit.recorded.clear()

    await rest(api, "bob", "delete", f"/auth/sessions/{phone_session}")

    roster = await rest(api, "alice", "get", f"/voice/{world['voice']}/participants")
    assert users["bob"].id not in {p["user_id"] for p in roster.json()}
    assert removals(livekit) == [(world["voice"], users["bob"].id)]
    await laptop.close()
    await alice.close()


async def test_revoking_another_session_keeps_the_call(
    users: dict[str, TestUser],  # noqa: F811
    world: dict,  # noqa: F811
    api: Api,
    livekit: type[FakeLiveKit],  # noqa: F811
) -> None:
    """bob's laptop joined voice; revoking his phone's sign-in leaves the laptop's call alone."""
    alice = await connect(users, "alice", world["text"])
    _phone_token, phone_session = await sync_to_async(_login)(api, "bob")
    await rest(api, "bob", "post", f"/voice/{world['voice']}/join")  # bob's first session
    await voice_event(alice, users["bob"].id, joined=True)
    livekit.recorded.clear()

    await rest(api, "bob", "delete", f"/auth/sessions/{phone_session}")

    roster = await rest(api, "alice", "get", f"/voice/{world['voice']}/participants")
    assert users["bob"].id in {p["user_id"] for p in roster.json()}
    assert removals(livekit) == []
    await alice.close()
