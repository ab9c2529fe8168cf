"""Sender keys (api.md 2.9a): sealed distributions, delivered only to their addressees."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.models import SenderKeyDistribution
from chat.permissions import Permission
from realtime.events import to_users
from tests.factories import (
    add_channel,
    add_member,
    add_overwrite,
    make_dm,
    make_server,
    published,
    users,
)
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db


def keys_url(channel_id: object) -> str:
    return f"/api/v1/channels/{channel_id}/sender-keys"


def entry(to: object, dist: object, blob: bytes = b"sealed") -> dict:
    return {"to_user_id": str(to), "distribution_id": str(dist), "encrypted_skdm": b64(blob)}


def test_distribute_and_fetch_only_ones_own(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_member(fx.server, carol)
    dist = uuid.uuid4()
    body = {"distributions": [entry(bob.id, dist, b"for-bob"), entry(carol.id, dist, b"for-carol")]}
    with published() as events:
        response = api.as_("alice").post(keys_url(fx.channel.id), body)
    assert response.json() == {"distributed": 2}
    assert [(e.type, e.payload, e.audience) for e in events] == [
        ("SenderKeysUpdated", {"channel_id": str(fx.channel.id)}, to_users(bob.id, carol.id))
    ]
    inbox = api.as_("bob").get(keys_url(fx.channel.id)).json()
    assert len(inbox) == 1
    assert inbox[0]["from_user_id"] == str(alice.id)
    assert inbox[0]["distribution_id"] == str(dist)
    assert inbox[0]["encrypted_skdm"] == b64(b"for-bob")
    assert inbox[0]["channel_id"] == str(fx.channel.id)
    assert set(inbox[0]) == {
        "id", "channel_id", "from_user_id", "distribution_id", "encrypted_skdm", "created_at",
    }  # fmt: skip
    assert api.as_("alice").get(keys_url(fx.channel.id)).json() == []
    # Fetching does not consume.
    assert len(api.as_("bob").get(keys_url(fx.channel.id)).json()) == 1


def test_a_newer_distribution_replaces_the_old_in_place(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    dist = uuid.uuid4()
    api.as_("alice").post(keys_url(dm.id), {"distributions": [entry(bob.id, dist, b"v1")]})
    first = SenderKeyDistribution.objects.get()
    body = {"distributions": [entry(bob.id, dist, b"v2"), entry(bob.id, dist, b"v3")]}
    with published() as events:
        assert api.as_("alice").post(keys_url(dm.id), body).json() == {"distributed": 2}
    row = SenderKeyDistribution.objects.get()
    assert row.id == first.id
    assert bytes(row.encrypted_skdm) == b"v3"
    assert row.created_at >= first.created_at
    assert len(events) == 1  # once per recipient, not per entry
    api.as_("alice").post(keys_url(dm.id), {"distributions": [entry(bob.id, uuid.uuid4())]})
    assert SenderKeyDistribution.objects.count() == 2


def test_distribution_errors(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    fx = make_server(alice)
    add_member(fx.server, bob)
    secret = add_channel(fx.server, private=True)
    as_alice = api.as_("alice")
    dist = uuid.uuid4()
    cases = [
        (
            as_alice.post(keys_url(fx.channel.id), {"distributions": []}),
            400,
            "No distributions provided",
        ),
        (
            as_alice.post(
                keys_url(fx.channel.id),
                {
                    "distributions": [
                        entry(bob.id, dist),
                        {**entry(bob.id, dist), "encrypted_skdm": "x"},
                    ]
                },
            ),
            400,
            "Invalid encrypted_skdm encoding",
        ),
        (
            as_alice.post(keys_url(fx.channel.id), {"distributions": [entry(mallory.id, dist)]}),
            400,
            f"User {mallory.id} cannot access this channel",
        ),
        (
            as_alice.post(keys_url(secret.id), {"distributions": [entry(bob.id, dist)]}),
            400,
            f"User {bob.id} cannot access this channel",
        ),
        (
            as_alice.post(keys_url(fx.channel.id), {"distributions": [entry(uuid.uuid4(), dist)]}),
            400,
            None,
        ),
        (
            api.as_("mallory").post(
                keys_url(fx.channel.id), {"distributions": [entry(bob.id, dist)]}
            ),
            403,
            "Not a member of this channel",
        ),
        (api.as_("mallory").get(keys_url(fx.channel.id)), 403, "Not a member of this channel"),
    ]
    for response, status, error in cases:
        assert response.status_code == status, response
        if error is not None:
            assert response.json()["error"] == error
    assert not SenderKeyDistribution.objects.exists()
    missing_field = {"distributions": [{"to_user_id": str(bob.id), "encrypted_skdm": ""}]}
    assert as_alice.post(keys_url(fx.channel.id), missing_field).status_code == 422


def test_member_identity_keys(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_member(fx.server, carol)
    add_overwrite(fx.channel, "member", carol.id, deny=Permission.VIEW_CHANNELS)
    keys = api.as_("bob").get(f"/api/v1/channels/{fx.channel.id}/members/keys").json()
    assert sorted(keys, key=lambda k: k["user_id"]) == sorted(
        [{"user_id": str(alice.id), "identity_key": b64(b"identity-alice")}],
        key=lambda k: k["user_id"],
    )
    dm = make_dm(alice, dave)
    assert api.as_("dave").get(f"/api/v1/channels/{dm.id}/members/keys").json() == [
        {"user_id": str(alice.id), "identity_key": b64(b"identity-alice")}
    ]
    assert api.as_("carol").get(f"/api/v1/channels/{fx.channel.id}/members/keys").status_code == 403


def test_member_keys_query_count_is_fixed(api: Api) -> None:
    alice, *others = users(api, "alice", "bob1", "bob2", "bob3", "bob4", "bob5")
    fx = make_server(alice)
    path = f"/api/v1/channels/{fx.channel.id}/members/keys"

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.as_("alice").get(path).status_code == 200
        return len(ctx.captured_queries)

    add_member(fx.server, others[0])
    few = count()
    for user in others[1:]:
        add_member(fx.server, user)
        add_overwrite(fx.channel, "member", user.id, allow=Permission.SEND_MESSAGES)
    assert count() == few
    assert len(api.as_("alice").get(path).json()) == 5


def test_identity_change_drops_keys_sealed_to_the_old_identity(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    api.as_("alice").post(keys_url(dm.id), {"distributions": [entry(bob.id, uuid.uuid4())]})
    api.as_("bob").post(keys_url(dm.id), {"distributions": [entry(alice.id, uuid.uuid4())]})
    same = {
        "identity_key": b64(b"identity-bob"),
        "signed_prekey": b64(b"new-spk"),
        "signed_prekey_signature": b64(b"new-sig"),
    }
    assert api.as_("bob").put("/api/v1/keys/identity", same).status_code == 200
    assert SenderKeyDistribution.objects.count() == 2  # same identity key: kept
    changed = {**same, "identity_key": b64(b"identity-bob-2")}
    assert api.as_("bob").put("/api/v1/keys/identity", changed).status_code == 200
    remaining = SenderKeyDistribution.objects.get()
    assert remaining.to_user_id == alice.id  # only the keys addressed to bob went
