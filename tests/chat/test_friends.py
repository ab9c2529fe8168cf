"""Friends (api.md 2.12): requests, accept, decline, remove, their events, and the one-row-per-pair
race."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet

from accounts.models import User
from chat.actions import friends
from chat.models import Friendship, FriendshipStatus
from realtime.events import to_users
from tests.factories import (
    befriend,
    published,
    users,
)
from tests.helpers import Api, Response

pytestmark = pytest.mark.django_db


def request(api: Api, who: str, username: str) -> Response:
    return api.as_(who).post("/api/v1/friends/request", {"username": username})


def test_friend_request_then_accept(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    bob.display_name = "Bobby"
    bob.save()
    with published() as sent:
        response = request(api, "alice", "BOB")  # matched case-insensitively
    data = response.json()
    assert response.status_code == 200
    assert data == {
        "id": data["id"],
        "user_id": str(bob.id),
        "username": "bob",
        "display_name": "Bobby",
        "avatar_url": None,
        "status": "pending",
        "is_incoming": False,
        "created_at": data["created_at"],
    }
    assert [(e.type, e.payload, e.audience) for e in sent] == [
        (
            "FriendRequestReceived",
            {"from_user_id": str(alice.id), "from_username": "alice", "friendship_id": data["id"]},
            to_users(bob.id, alice.id),  # alice's other devices learn of the request too
        )
    ]
    incoming = api.as_("bob").get("/api/v1/friends").json()
    assert [(f["user_id"], f["is_incoming"], f["status"]) for f in incoming] == [
        (str(alice.id), True, "pending")
    ]
    with published() as accepted:
        response = api.as_("bob").post(f"/api/v1/friends/{data['id']}/accept")
    assert response.json()["user_id"] == str(alice.id)
    assert response.json()["status"] == "accepted"
    assert response.json()["is_incoming"] is True
    assert [(e.type, e.payload, e.audience) for e in accepted] == [
        (
            "FriendRequestAccepted",
            {"user_id": str(bob.id), "username": "bob", "friendship_id": data["id"]},
            to_users(alice.id, bob.id),  # and bob's other devices
        )
    ]


def test_a_request_meeting_a_reverse_request_auto_accepts(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    original = request(api, "alice", "bob").json()
    with published() as events:
        response = request(api, "bob", "alice").json()
    assert response["id"] == original["id"]
    assert response["status"] == "accepted"
    assert response["is_incoming"] is False
    assert response["user_id"] == str(alice.id)
    assert response["created_at"] == original["created_at"]
    # To the other side, and to the sender's other devices.
    assert [(e.type, e.audience) for e in events] == [
        ("FriendRequestAccepted", to_users(alice.id, bob.id))
    ]
    assert events[0].payload == {
        "user_id": str(bob.id),
        "username": "bob",
        "friendship_id": original["id"],
    }
    assert Friendship.objects.count() == 1


def test_friend_request_errors_in_order(api: Api) -> None:
    alice, _bob, carol = users(api, "alice", "bob", "carol")
    befriend(alice, carol)
    request(api, "alice", "bob")
    cases = [
        (request(api, "alice", "nobody"), 404, "User not found"),
        (request(api, "alice", "ALICE"), 400, "Cannot send a friend request to yourself"),
        (request(api, "alice", "carol"), 400, "Already friends"),
        (request(api, "alice", "bob"), 400, "Friend request already pending"),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    assert api.as_("alice").post("/api/v1/friends/request", {}).status_code == 422


def test_blocks_stop_friend_requests_both_ways(api: Api) -> None:
    alice, _bob = users(api, "alice", "bob")
    api.as_("bob").post(f"/api/v1/users/{alice.id}/block")
    for who, target in (("alice", "bob"), ("bob", "alice")):
        assert request(api, who, target).json() == {
            "error": "Cannot send friend request to this user",
            "status": 403,
        }


def test_accept_and_decline_errors(api: Api) -> None:
    alice, _bob, carol = users(api, "alice", "bob", "carol")
    pending = request(api, "alice", "bob").json()["id"]
    done = befriend(alice, carol).id
    for verb, word in (("accept", "accept"), ("decline", "decline")):
        cases = [
            (
                api.as_("bob").post(f"/api/v1/friends/{uuid.uuid4()}/{verb}"),
                404,
                "Friend request not found",
            ),
            (
                api.as_("alice").post(f"/api/v1/friends/{pending}/{verb}"),
                403,
                f"Cannot {word} this request",
            ),
            (
                api.as_("carol").post(f"/api/v1/friends/{done}/{verb}"),
                400,
                "Request is not pending",
            ),
        ]
        for response, status, error in cases:
            assert response.json() == {"error": error, "status": status}


def test_decline_deletes_without_event(api: Api) -> None:
    users(api, "alice", "bob")
    pending = request(api, "alice", "bob").json()["id"]
    with published() as events:
        response = api.as_("bob").post(f"/api/v1/friends/{pending}/decline")
    assert response.json() == {"message": "Friend request declined"}
    assert events == []
    assert not Friendship.objects.exists()


def test_remove_friend_or_cancel_request(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    friendship = befriend(alice, bob)
    with published() as events:
        response = api.as_("bob").delete(f"/api/v1/friends/{friendship.id}")
    assert response.json() == {"message": "Friend removed"}
    assert [(e.type, e.payload, e.audience) for e in events] == [  # each side names the other
        ("FriendRemoved", {"user_id": str(bob.id)}, to_users(alice.id)),
        ("FriendRemoved", {"user_id": str(alice.id)}, to_users(bob.id)),
    ]
    cancelled = request(api, "alice", "carol").json()["id"]
    assert api.as_("alice").delete(f"/api/v1/friends/{cancelled}").status_code == 200
    assert not Friendship.objects.exists()
    other = befriend(bob, carol)
    assert api.as_("alice").delete(f"/api/v1/friends/{other.id}").json() == {
        "error": "Not part of this friendship",
        "status": 403,
    }
    assert api.as_("alice").delete(f"/api/v1/friends/{uuid.uuid4()}").json() == {
        "error": "Friendship not found",
        "status": 404,
    }


def test_list_friends_newest_first_with_offset_pagination(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    befriend(alice, bob)
    befriend(carol, alice, accepted=False)
    befriend(alice, dave, accepted=False)
    befriend(bob, carol)  # not alice's
    listed = api.as_("alice").get("/api/v1/friends").json()
    assert [(f["username"], f["status"], f["is_incoming"]) for f in listed] == [
        ("dave", "pending", False),
        ("carol", "pending", True),
        ("bob", "accepted", False),
    ]
    page = api.as_("alice").get("/api/v1/friends?limit=1&offset=1").json()
    assert [f["username"] for f in page] == ["carol"]


def test_lost_insert_race_answers_the_winning_row(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two users asking each other at once: the loser's insert hits the one-row-per-pair index
    and its request auto-accepts the winner's, as if it had come second."""
    alice, bob = users(api, "alice", "bob")
    befriend(bob, alice, accepted=False)  # the other request, committed after our lookup
    real_lookup = Friendship.objects.select_for_update
    lookups: list[int] = []

    def stale_first_lookup(**kwargs: Any) -> QuerySet[Friendship]:
        lookups.append(1)
        return Friendship.objects.none() if len(lookups) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(Friendship.objects, "select_for_update", stale_first_lookup)
    result = friends.do_send_request(alice, "bob")
    assert len(lookups) == 2  # the insert lost, and the second lookup found the winner
    assert result.auto_accepted
    assert Friendship.objects.get().status == FriendshipStatus.ACCEPTED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_mutual_requests_make_one_friendship() -> None:
    api = Api()
    alice, bob = users(api, "alice", "bob")
    for _ in range(5):
        Friendship.objects.all().delete()
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []
        threads = [
            threading.Thread(target=_ask, args=(alice, "bob", barrier, errors)),
            threading.Thread(target=_ask, args=(bob, "alice", barrier, errors)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Friendship.objects.count() == 1
        assert Friendship.objects.get().status == FriendshipStatus.ACCEPTED
        assert all(getattr(e, "status_code", 500) == 400 for e in errors), errors


def _ask(me: User, other: str, barrier: threading.Barrier, errors: list[BaseException]) -> None:
    try:
        barrier.wait()
        friends.do_send_request(me, other)
    except Exception as error:  # "already pending"/"already friends" are fine too
        errors.append(error)
    finally:
        connection.close()
