"""Users and profiles (api.md 2.4): search, the profile card, updates, profile keys."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ProfileKeyDistribution, User
from chat.models import Friendship, MemberRole, Role, Server, ServerMember
from tests.factories import befriend, users
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db


def server_with(*members: User) -> Server:
    server = Server.objects.create(owner=members[0])
    for member in members:
        ServerMember.objects.create(server=server, user=member)
    return server


# --- Search -------------------------------------------------------------------------------------


def test_search_is_exact_and_case_insensitive(api: Api) -> None:
    (alice,) = users(api, "Alice")
    found = api.as_("Alice").get("/api/v1/users/search?username=ALICE").json()
    assert found["id"] == str(alice.id)
    assert found["username"] == "Alice"
    assert found["totp_enabled"] is False
    assert api.as_("Alice").get("/api/v1/users/search?username=Ali").json() == {
        "error": "User not found",
        "status": 404,
    }
    assert api.as_("Alice").get("/api/v1/users/search").status_code == 400
    assert api.get("/api/v1/users/search?username=alice").status_code == 401


# --- Profile card -------------------------------------------------------------------------------


def profile(api: Api, who: str, target: object, query: str = "") -> dict:
    response = api.as_(who).get(f"/api/v1/users/{target}/profile{query}")
    assert response.status_code == 200, response
    return response.json()


def test_own_profile(api: Api) -> None:
    (alice,) = users(api, "alice")
    card = profile(api, "alice", alice.id)
    assert card == {
        "id": str(alice.id),
        "username": "alice",
        "display_name": None,
        "about_me": None,
        "avatar_url": None,
        "banner_url": None,
        "custom_status": None,
        "custom_status_emoji": None,
        "created_at": card["created_at"],
        "is_blocked": False,
        "is_friend": False,
        "friend_request_status": None,
        "friendship_id": None,
        "mutual_friend_count": 0,
        "mutual_friends": [],
        "mutual_server_count": 0,
    }


def test_profile_relationships(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    friendship = befriend(alice, bob)
    befriend(alice, carol)
    befriend(carol, bob)  # carol: a mutual friend of alice and bob
    befriend(dave, alice)
    befriend(dave, bob, accepted=False)  # pending: not mutual
    server_with(dave, bob)  # a request alone would not let dave see bob's card
    server_with(alice, bob)
    server_with(bob, alice, carol)
    server_with(alice)
    card = profile(api, "alice", bob.id)
    assert card["is_friend"] is True
    assert card["friend_request_status"] is None
    assert card["friendship_id"] == str(friendship.id)
    assert card["mutual_friends"] == [
        {"user_id": str(carol.id), "username": "carol", "display_name": None, "avatar_url": None}
    ]
    assert card["mutual_friend_count"] == 1
    assert card["mutual_server_count"] == 2
    assert "roles" not in card
    assert "encrypted_profile" not in card
    pending = Friendship.objects.get(requester=dave, addressee=bob)
    assert profile(api, "dave", bob.id)["friend_request_status"] == "pending_outgoing"
    incoming = profile(api, "bob", dave.id)
    assert incoming["friend_request_status"] == "pending_incoming"
    assert incoming["friendship_id"] == str(pending.id)
    assert incoming["is_friend"] is False


def test_profile_shows_at_most_ten_mutual_friends_with_fixed_queries(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    server_with(alice, bob)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            profile(api, "alice", bob.id)
        return len(ctx.captured_queries)

    first = User.objects.create(username="friend0", password="x")
    befriend(alice, first)
    befriend(first, bob)
    few = count()
    for i in range(1, 12):
        friend = User.objects.create(username=f"friend{i}", password="x")
        befriend(alice, friend)
        befriend(friend, bob)
    assert count() == few
    card = profile(api, "alice", bob.id)
    assert card["mutual_friend_count"] == len(card["mutual_friends"]) == 10


def test_profile_blocked_flag_and_encrypted_profile(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    server_with(alice, bob)
    api.as_("bob").put("/api/v1/users/profile", {"encrypted_profile": b64(b"sealed profile")})
    api.as_("alice").post(f"/api/v1/users/{bob.id}/block")
    card = profile(api, "alice", bob.id)
    assert card["is_blocked"] is True
    assert card["encrypted_profile"] == b64(b"sealed profile")
    assert profile(api, "bob", alice.id)["is_blocked"] is False


def test_profile_roles_only_for_members_of_that_server(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    server = server_with(alice, bob)
    low = Role.objects.create(server=server, name="low", permissions=8, position=1, color="#fff")
    high = Role.objects.create(server=server, name="high", position=5)
    Role.objects.create(server=server, name="unassigned", position=3)
    MemberRole.objects.create(server=server, user=bob, role=high)
    MemberRole.objects.create(server=server, user=bob, role=low)
    roles = profile(api, "alice", bob.id, f"?server_id={server.id}")["roles"]
    assert [r["name"] for r in roles] == ["low", "high"]
    assert roles[0] == {
        "id": str(low.id),
        "server_id": str(server.id),
        "name": "low",
        "color": "#fff",
        "permissions": "8",
        "position": 1,
        "is_default": False,
        "created_at": roles[0]["created_at"],
    }
    server_with(mallory, bob)  # another server: mallory may see bob's card, not these roles
    assert profile(api, "mallory", bob.id, f"?server_id={server.id}")["roles"] == []


def test_profile_errors(api: Api) -> None:
    users(api, "alice")
    assert api.as_("alice").get(f"/api/v1/users/{uuid.uuid4()}/profile").json() == {
        "error": "User not found",
        "status": 404,
    }
    assert api.as_("alice").get("/api/v1/users/nope/profile").status_code == 400
    response = api.as_("alice").get(f"/api/v1/users/{uuid.uuid4()}/profile?server_id=x")
    assert response.status_code == 400


# --- PUT /users/profile -------------------------------------------------------------------------


def test_update_profile_changes_only_named_fields(api: Api) -> None:
    users(api, "alice")
    as_alice = api.as_("alice")
    full = {
        "display_name": "Alice",
        "about_me": "hello",
        "custom_status": "busy",
        "custom_status_emoji": "🔥",
        "encrypted_profile": b64(b"\x00\x01"),
    }
    updated = as_alice.put("/api/v1/users/profile", full).json()
    assert {k: updated[k] for k in full} == full
    # Leaving fields out keeps them (the spec's quirk of erasing about_me and the status is fixed).
    kept = as_alice.put("/api/v1/users/profile", {"custom_status": "away"}).json()
    assert (kept["about_me"], kept["custom_status"], kept["custom_status_emoji"]) == (
        "hello",
        "away",
        "🔥",
    )
    # null clears the clearable fields; display_name and encrypted_profile keep their value.
    cleared = as_alice.put(
        "/api/v1/users/profile",
        {"about_me": None, "custom_status": None, "display_name": None, "encrypted_profile": None},
    ).json()
    assert (cleared["about_me"], cleared["custom_status"]) == (None, None)
    assert cleared["display_name"] == "Alice"
    assert cleared["encrypted_profile"] == b64(b"\x00\x01")
    assert as_alice.put("/api/v1/users/profile", {}).json()["display_name"] == "Alice"


def test_update_profile_errors(api: Api) -> None:
    users(api, "alice")
    as_alice = api.as_("alice")
    assert as_alice.put("/api/v1/users/profile", {"encrypted_profile": "%%"}).json() == {
        "error": "Invalid encrypted_profile encoding",
        "status": 400,
    }
    assert as_alice.put("/api/v1/users/profile", {"display_name": "x" * 65}).json() == {
        "error": "display_name must be at most 64 characters",
        "status": 400,
    }
    assert as_alice.put("/api/v1/users/profile", {"about_me": 5}).status_code == 422
    assert as_alice.put("/api/v1/users/profile", content_type="text/plain").status_code == 415
    assert as_alice.get("/api/v1/users/profile").status_code == 405


# --- Profile keys -------------------------------------------------------------------------------


def test_profile_keys_are_upserted_and_read_by_their_recipient(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    body = {
        "distributions": [
            {"to_user_id": str(bob.id), "encrypted_profile_key": b64(b"for bob v1")},
            {"to_user_id": str(carol.id), "encrypted_profile_key": b64(b"for carol")},
        ]
    }
    assert api.as_("alice").put("/api/v1/users/profile-keys", body).json() == {"distributed": 2}
    again = {"distributions": [{"to_user_id": str(bob.id), "encrypted_profile_key": b64(b"v2")}]}
    assert api.as_("alice").put("/api/v1/users/profile-keys", again).json() == {"distributed": 1}
    assert ProfileKeyDistribution.objects.count() == 2
    assert api.as_("bob").get(f"/api/v1/users/{alice.id}/profile-key").json() == {
        "from_user_id": str(alice.id),
        "encrypted_profile_key": b64(b"v2"),
    }
    assert api.as_("alice").get(f"/api/v1/users/{bob.id}/profile-key").json() == {
        "error": "Profile key not found",
        "status": 404,
    }
    assert api.as_("alice").put("/api/v1/users/profile-keys", {"distributions": []}).json() == {
        "distributed": 0
    }


def test_profile_key_errors_store_nothing(api: Api) -> None:
    _, bob = users(api, "alice", "bob")
    bad = {
        "distributions": [
            {"to_user_id": str(bob.id), "encrypted_profile_key": b64(b"ok")},
            {"to_user_id": str(bob.id), "encrypted_profile_key": "bad"},
        ]
    }
    assert api.as_("alice").put("/api/v1/users/profile-keys", bad).json() == {
        "error": "Invalid encrypted_profile_key encoding",
        "status": 400,
    }
    unknown = {
        "distributions": [{"to_user_id": str(uuid.uuid4()), "encrypted_profile_key": b64(b"k")}]
    }
    assert api.as_("alice").put("/api/v1/users/profile-keys", unknown).json() == {
        "error": "User not found",
        "status": 404,
    }
    assert not ProfileKeyDistribution.objects.exists()
    assert api.as_("alice").put("/api/v1/users/profile-keys", {}).status_code == 422
