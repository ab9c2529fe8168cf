"""Blocks (api.md 2.4) and what they block here: friendships, DMs, profile keys, presence
(api.md 2.23)."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import BlockedUser, ProfileKeyDistribution, User
from chat.models import Friendship
from realtime.events import to_users
from tests.factories import (
    add_member,
    befriend,
    make_server,
    published,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def test_block_unblock_and_list(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    as_alice = api.as_("alice")
    for target in (bob, carol, bob):  # idempotent
        response = as_alice.post(f"/api/v1/users/{target.id}/block")
        assert response.status_code == 200
        assert response.content == b"null"
        assert response.headers["Content-Type"] == "application/json"
    listed = as_alice.get("/api/v1/users/blocked").json()
    assert [b["username"] for b in listed] == ["carol", "bob"]  # newest block first
    assert set(listed[0]) == {"user_id", "username", "display_name", "avatar_url", "blocked_at"}
    assert [
        b["username"] for b in as_alice.get("/api/v1/users/blocked?limit=1&offset=1").json()
    ] == ["bob"]
    unblocked = as_alice.delete(f"/api/v1/users/{bob.id}/block")
    assert (unblocked.status_code, unblocked.content) == (200, b"null")
    assert as_alice.delete(f"/api/v1/users/{uuid.uuid4()}/block").status_code == 200
    assert list(BlockedUser.objects.values_list("blocked_id", flat=True)) == [carol.id]
    assert alice  # the blocker


def test_block_errors(api: Api) -> None:
    (alice,) = users(api, "alice")
    as_alice = api.as_("alice")
    assert as_alice.post(f"/api/v1/users/{alice.id}/block").json() == {
        "error": "Cannot block yourself",
        "status": 400,
    }
    assert as_alice.post(f"/api/v1/users/{uuid.uuid4()}/block").json() == {
        "error": "User not found",
        "status": 404,
    }


def test_block_ends_friendship_and_drops_the_shared_profile_key(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    befriend(bob, alice)
    ProfileKeyDistribution.objects.create(from_user=alice, to_user=bob, encrypted_profile_key=b"k")
    ProfileKeyDistribution.objects.create(from_user=bob, to_user=alice, encrypted_profile_key=b"k")
    with published() as events:
        api.as_("alice").post(f"/api/v1/users/{bob.id}/block")
    assert not Friendship.objects.exists()
    assert [(e.type, e.payload, e.audience) for e in events] == [  # each side names the other
        ("FriendRemoved", {"user_id": str(alice.id)}, to_users(bob.id)),
        ("FriendRemoved", {"user_id": str(bob.id)}, to_users(alice.id)),
    ]
    assert list(ProfileKeyDistribution.objects.values_list("from_user_id", flat=True)) == [bob.id]
    with published() as events:
        api.as_("alice").post(f"/api/v1/users/{bob.id}/block")  # nothing left to end
    assert events == []


# --- Presence -----------------------------------------------------------------------------------


def set_status(user: User, status: str) -> None:
    from asgiref.sync import async_to_sync

    from realtime.registry import get_registry

    async_to_sync(get_registry().aset_status)(str(user.id), status)


def test_presence_statuses_in_request_order(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    server = make_server(alice).server
    for member in (bob, carol, dave):
        add_member(server, member)
    set_status(bob, "dnd")
    set_status(carol, "invisible")
    set_status(dave, "idle")
    ids = f"{bob.id},nonsense,{carol.id},{uuid.uuid4()},{bob.id},{dave.id}"
    response = api.as_("alice").get(f"/api/v1/presence?user_ids={ids}")
    assert [e["status"] for e in response.json()] == ["dnd", "offline", "offline", "dnd", "idle"]
    assert response.json()[0] == {"user_id": str(bob.id), "status": "dnd"}
    assert api.as_("alice").get("/api/v1/presence?user_ids=").json() == []
    assert api.as_("alice").get("/api/v1/presence").status_code == 400


def test_presence_needs_authentication_and_hides_blockers(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    add_member(make_server(alice).server, bob)
    set_status(alice, "online")
    assert api.get(f"/api/v1/presence?user_ids={alice.id}").status_code == 401
    path = f"/api/v1/presence?user_ids={alice.id}"
    assert api.as_("bob").get(path).json() == [{"user_id": str(alice.id), "status": "online"}]
    api.as_("alice").post(f"/api/v1/users/{bob.id}/block")
    assert api.as_("bob").get(path).json() == [{"user_id": str(alice.id), "status": "offline"}]
    # The blocker still sees the blocked user.
    set_status(bob, "idle")
    assert api.as_("alice").get(f"/api/v1/presence?user_ids={bob.id}").json()[0]["status"] == "idle"
