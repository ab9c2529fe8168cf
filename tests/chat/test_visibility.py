"""Presence and profile cards only for people who share something (docs/security.md, "Who sees
whom"): a server, a DM or group channel, or a friendship. Everyone else reads as ``offline`` on
``GET /presence`` and answers ``404 User not found`` on ``GET /users/{id}/profile``, exactly like a
user who does not exist. One rule (``chat.access.users_sharing_something``) serves both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from chat.models import DmStatus
from tests.factories import (
    add_member,
    befriend,
    make_dm,
    make_server,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def set_status(user: User, status: str) -> None:
    from asgiref.sync import async_to_sync

    from realtime.registry import get_registry

    async_to_sync(get_registry().aset_status)(str(user.id), status)


def presence(api: Api, viewer: str, target: User) -> str:
    response = api.as_(viewer).get(f"/api/v1/presence?user_ids={target.id}")
    assert response.status_code == 200, response
    (entry,) = response.json()
    assert entry["user_id"] == str(target.id)
    return str(entry["status"])


def card_status(api: Api, viewer: str, target: User) -> int:
    response = api.as_(viewer).get(f"/api/v1/users/{target.id}/profile")
    if response.status_code == 404:
        assert response.json() == {"error": "User not found", "status": 404}
    return response.status_code


def sees(api: Api, viewer: str, target: User) -> bool:
    """Whether ``viewer`` sees ``target`` (online) on both routes; they must agree."""
    status, card = presence(api, viewer, target), card_status(api, viewer, target)
    assert (status == "online") == (card == 200), (status, card)
    return card == 200


@pytest.fixture
def people(api: Api) -> dict[str, User]:
    alice, bob = users(api, "alice", "bob")
    set_status(alice, "online")
    set_status(bob, "online")
    return {"alice": alice, "bob": bob}


Relation = Callable[[dict[str, User]], Any]


def _server(p: dict[str, User]) -> None:
    add_member(make_server(p["alice"]).server, p["bob"])


def _dm(p: dict[str, User]) -> None:
    make_dm(p["alice"], p["bob"])


def _group(p: dict[str, User]) -> None:
    make_dm(p["alice"], p["bob"], group=True)


def _friends(p: dict[str, User]) -> None:
    befriend(p["alice"], p["bob"])


RELATIONS: dict[str, Relation] = {
    "co-member": _server,
    "DM partner": _dm,
    "group member": _group,
    "friend": _friends,
}


def test_a_stranger_is_offline_and_has_no_card(api: Api, people: dict[str, User]) -> None:
    assert presence(api, "alice", people["bob"]) == "offline"  # though bob is online
    assert card_status(api, "alice", people["bob"]) == 404
    assert not sees(api, "bob", people["alice"])


def test_oneself_is_always_visible(api: Api, people: dict[str, User]) -> None:
    assert sees(api, "alice", people["alice"])


@pytest.mark.parametrize("relation", list(RELATIONS))
def test_sharing_something_shows_both_ways(
    api: Api, people: dict[str, User], relation: str
) -> None:
    RELATIONS[relation](people)
    assert sees(api, "alice", people["bob"])
    assert sees(api, "bob", people["alice"])


def test_a_former_co_member_is_a_stranger_again(api: Api, people: dict[str, User]) -> None:
    server = make_server(people["alice"]).server
    add_member(server, people["bob"])
    assert sees(api, "alice", people["bob"])
    response = api.as_("bob").delete(f"/api/v1/servers/{server.id}/members/@me")
    assert response.status_code == 200, response
    assert not sees(api, "alice", people["bob"])
    assert not sees(api, "bob", people["alice"])


def test_a_friend_request_shows_its_sender_to_its_receiver_only(
    api: Api, people: dict[str, User]
) -> None:
    befriend(people["bob"], people["alice"], accepted=False)  # bob asks alice
    assert sees(api, "alice", people["bob"])
    assert not sees(api, "bob", people["alice"])  # asking is not enough to watch someone


@pytest.mark.parametrize("status", [DmStatus.PENDING, DmStatus.DECLINED])
def test_a_dm_request_shows_its_initiator_to_its_target_only(
    api: Api, people: dict[str, User], status: str
) -> None:
    make_dm(people["bob"], people["alice"], status=status, initiator=people["bob"])
    assert sees(api, "alice", people["bob"])
    assert not sees(api, "bob", people["alice"])


def test_presence_costs_the_same_whatever_the_number_of_ids(
    api: Api, people: dict[str, User]
) -> None:
    many = users(api, *(f"user{i}" for i in range(8)))
    server = make_server(people["alice"]).server
    for user in many[:4]:
        add_member(server, user)
    befriend(people["alice"], many[4])
    make_dm(people["alice"], many[5])

    def count(targets: list[User]) -> int:
        ids = ",".join(str(u.id) for u in targets)
        with CaptureQueriesContext(connection) as ctx:
            response = api.as_("alice").get(f"/api/v1/presence?user_ids={ids}")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    assert count(many) == count(many[:1] + many[5:])
