"""The offset lists' upper clamp (api.md 1.6: limit clamped into 1..100) on routes
that other tests check only with small pages or the lower clamp."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accounts.models import BlockedUser, User
from invites.models import ServerInvite
from tests.factories import make_server
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits_off() -> Iterator[None]:
    with haven_settings(rate_limits_enabled=False):
        yield


def test_invites_list_caps_at_100(api: Api) -> None:
    alice = api.register("alice")
    server = make_server(alice.id).server
    ServerInvite.objects.bulk_create(
        [ServerInvite(server=server, code=f"c{i:07d}", created_by_id=alice.id) for i in range(105)]
    )
    page = api.as_("alice").get(f"/api/v1/servers/{server.id}/invites?limit=500").json()
    assert len(page) == 100
    assert len(api.as_("alice").get(f"/api/v1/servers/{server.id}/invites").json()) == 50
    assert len(api.as_("alice").get(f"/api/v1/servers/{server.id}/invites?limit=-7").json()) == 1


def test_blocked_list_caps_at_100(api: Api) -> None:
    alice = api.register("alice")
    others = User.objects.bulk_create([User(username=f"user_{i}") for i in range(105)])
    BlockedUser.objects.bulk_create([BlockedUser(blocker_id=alice.id, blocked=o) for o in others])
    page = api.as_("alice").get("/api/v1/users/blocked?limit=1000").json()
    assert len(page) == 100
    assert len(api.as_("alice").get("/api/v1/users/blocked?limit=0").json()) == 1
    tail = api.as_("alice").get("/api/v1/users/blocked?limit=100&offset=100").json()
    assert len(tail) == 5
