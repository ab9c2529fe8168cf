"""REST message routes (api.md 2.9): send fallback, history, bulk delete."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import AuditLogEntry, Message, Reaction, Report
from chat.permissions import DEFAULT_EVERYONE, Permission
from realtime.events import to_channels, to_users
from tests.factories import (
    add_channel,
    add_member,
    add_overwrite,
    add_role,
    make_dm,
    make_server,
    post,
    published,
    send_body,
    set_everyone,
    time_out,
    users,
)
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db


def url(channel_id: object) -> str:
    return f"/api/v1/channels/{channel_id}/messages"


# --- POST /channels/{id}/messages ---------------------------------------------------------------


def test_send_stores_and_returns_message_shape(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    with published() as events:
        response = api.as_("alice").post(
            url(fx.channel.id), send_body(uuid.uuid4(), reply_to_id=str(uuid.uuid4()))
        )
    assert response.status_code == 200, response
    data = response.json()
    assert set(data) == {
        "id", "channel_id", "sender_token", "encrypted_body", "timestamp", "expires_at",
        "has_attachments", "edited", "reply_to_id",
    }  # fmt: skip
    assert data["channel_id"] == str(fx.channel.id)  # the path wins over the body's channel_id
    assert data["sender_token"] == b64(b"sealed-sender")
    assert data["encrypted_body"] == b64(b"ciphertext")
    assert data["timestamp"].endswith("Z")
    assert data["expires_at"] is None
    assert data["edited"] is False
    message = Message.objects.get(id=data["id"])
    assert message.sender_id == alice.id  # kept server-side, never returned
    assert [(e.type, e.audience) for e in events] == [("NewMessage", to_channels(fx.channel.id))]
    assert events[0].payload == data


def test_send_in_dm_reaches_the_other_participant_not_the_sender(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    with published() as events:
        response = api.as_("alice").post(url(dm.id), send_body(dm.id))
    assert response.status_code == 200
    assert events[0].type == "NewMessage"
    assert events[0].audience == to_channels(dm.id) | to_users(bob.id)


def test_send_expires_at_is_stored_and_returned(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    response = api.as_("alice").post(
        url(fx.channel.id), send_body(fx.channel.id, expires_at="2099-01-01T10:00:00+02:00")
    )
    assert response.json()["expires_at"] == "2099-01-01T08:00:00Z"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"sender_token": "not!!valid"}, 400, "Invalid sender_token encoding"),
        ({"encrypted_body": "YQ"}, 400, "Invalid encrypted_body encoding"),
        ({"encrypted_body": b64(b"x" * (64 * 1024 + 1))}, 400, "Message too large"),
        ({"nonce": "n" * 65}, 400, "nonce must be 1-64 characters"),
    ],
)
def test_send_validation_errors(api: Api, change: dict, status: int, error: str) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    response = api.as_("alice").post(url(fx.channel.id), send_body(fx.channel.id, **change))
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert not Message.objects.exists()


def test_rest_accepts_bodies_up_to_64_kib(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    body = send_body(fx.channel.id, encrypted_body=b64(b"x" * 64 * 1024))
    assert api.as_("alice").post(url(fx.channel.id), body).status_code == 200


@pytest.mark.parametrize(
    "missing", ["channel_id", "sender_token", "encrypted_body", "has_attachments"]
)
def test_send_missing_required_field_is_422(api: Api, missing: str) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    body = send_body(fx.channel.id)
    del body[missing]
    assert api.as_("alice").post(url(fx.channel.id), body).status_code == 422


def test_send_malformed_channel_id_is_400(api: Api) -> None:
    users(api, "alice")
    assert api.as_("alice").post(url("nope"), send_body(uuid.uuid4())).status_code == 400


def test_send_unauthenticated_is_401(api: Api) -> None:
    assert api.post(url(uuid.uuid4()), send_body(uuid.uuid4())).status_code == 401


def test_non_member_cannot_send_or_read(api: Api) -> None:
    alice, _ = users(api, "alice", "mallory")
    fx = make_server(alice)
    mallory = api.as_("mallory")
    for response in (
        mallory.post(url(fx.channel.id), send_body(fx.channel.id)),
        mallory.get(url(fx.channel.id)),
        mallory.post(url(uuid.uuid4()), send_body(fx.channel.id)),  # missing channel: same 403
    ):
        assert response.status_code == 403
        assert response.json() == {"error": "Not a member of this channel", "status": 403}


def test_private_channel_is_invisible_without_view_channels(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    secret = add_channel(fx.server, private=True)
    as_bob = api.as_("bob")
    assert as_bob.post(url(secret.id), send_body(secret.id)).json()["error"] == (
        "Not a member of this channel"
    )
    assert as_bob.get(url(secret.id)).status_code == 403
    add_overwrite(secret, "member", bob.id, allow=Permission.VIEW_CHANNELS)
    assert as_bob.post(url(secret.id), send_body(secret.id)).status_code == 200
    assert api.as_("alice").get(url(secret.id)).status_code == 200  # the owner sees everything


def test_member_without_send_messages_cannot_send(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    set_everyone(fx, DEFAULT_EVERYONE & ~Permission.SEND_MESSAGES)
    response = api.as_("bob").post(url(fx.channel.id), send_body(fx.channel.id))
    assert response.status_code == 403
    assert response.json()["error"] == "Missing required permission"
    # A role that grants it lets him speak.
    add_role(fx.server, bob, Permission.SEND_MESSAGES)
    assert api.as_("bob").post(url(fx.channel.id), send_body(fx.channel.id)).status_code == 200


def test_attachments_need_attach_files(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    set_everyone(fx, DEFAULT_EVERYONE & ~Permission.ATTACH_FILES)
    body = send_body(fx.channel.id, has_attachments=True)
    response = api.as_("bob").post(url(fx.channel.id), body)
    assert (response.status_code, response.json()["error"]) == (403, "Missing required permission")
    assert api.as_("bob").post(url(fx.channel.id), send_body(fx.channel.id)).status_code == 200


def test_timed_out_member_cannot_send(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    time_out(fx.server, bob)
    response = api.as_("bob").post(url(fx.channel.id), send_body(fx.channel.id))
    assert response.json() == {"error": "You are timed out in this server", "status": 403}
    time_out(fx.server, bob, minutes=-1)  # the timeout has run out
    assert api.as_("bob").post(url(fx.channel.id), send_body(fx.channel.id)).status_code == 200


def test_nonce_makes_a_retried_send_idempotent(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    body = send_body(fx.channel.id, nonce="client-nonce-1")
    with published() as events:
        first = api.as_("alice").post(url(fx.channel.id), body)
        again = api.as_("alice").post(url(fx.channel.id), body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Message.objects.count() == 1
    assert [e.type for e in events] == ["NewMessage"]  # no second event


def test_nonce_is_per_sender_and_bound_to_its_channel(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    other = add_channel(fx.server)
    body = send_body(fx.channel.id, nonce="same")
    a = api.as_("alice").post(url(fx.channel.id), body).json()
    b = api.as_("bob").post(url(fx.channel.id), body).json()
    assert a["id"] != b["id"]  # another sender's nonce is unrelated
    reused = api.as_("alice").post(url(other.id), send_body(other.id, nonce="same"))
    assert reused.status_code == 409
    assert reused.json()["error"] == "nonce already used for another message"


# --- GET /channels/{id}/messages ----------------------------------------------------------------


def test_history_is_newest_first_with_exclusive_before_and_limits(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    sent = [post(fx.channel, alice, f"m{i}".encode()) for i in range(5)]
    as_alice = api.as_("alice")
    page = as_alice.get(url(fx.channel.id)).json()
    assert [m["id"] for m in page] == [str(m.id) for m in reversed(sent)]
    older = as_alice.get(url(fx.channel.id) + f"?before={page[1]['timestamp']}&limit=2").json()
    assert [m["id"] for m in older] == [str(sent[2].id), str(sent[1].id)]
    assert as_alice.get(url(fx.channel.id) + "?limit=0").json() == []
    negative = as_alice.get(url(fx.channel.id) + "?limit=-1")
    assert negative.status_code == 400
    assert as_alice.get(url(fx.channel.id) + "?limit=abc").status_code == 400
    assert as_alice.get(url(fx.channel.id) + "?before=yesterday").status_code == 400


def test_history_caps_limit_at_100(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    for i in range(105):
        post(fx.channel, alice, f"m{i}".encode())
    assert len(api.as_("alice").get(url(fx.channel.id) + "?limit=500").json()) == 100
    assert len(api.as_("alice").get(url(fx.channel.id)).json()) == 50


def test_history_excludes_expired_messages(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    keep = post(fx.channel, alice, b"keep", expires_at=timezone.now() + timedelta(hours=1))
    post(fx.channel, alice, b"gone", expires_at=timezone.now() - timedelta(seconds=1))
    page = api.as_("alice").get(url(fx.channel.id)).json()
    assert [m["id"] for m in page] == [str(keep.id)]


def test_history_needs_read_message_history(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.READ_MESSAGE_HISTORY)
    response = api.as_("bob").get(url(fx.channel.id))
    assert response.json() == {"error": "Missing required permission", "status": 403}


def test_history_marks_system_messages_and_replies(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    parent = post(fx.channel, alice)
    post(fx.channel, alice, reply_to_id=parent.id)
    post(fx.channel, None, b'{"event":"x"}', message_type="system")
    page = api.as_("alice").get(url(fx.channel.id)).json()
    assert page[0]["message_type"] == "system"
    assert page[1]["reply_to_id"] == str(parent.id)
    assert "message_type" not in page[1]
    assert "reply_to_id" not in page[2]


def _queries(api: Api, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_history_query_count_is_fixed(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_role(fx.server, bob, Permission.SEND_MESSAGES)
    post(fx.channel, alice)
    few = _queries(api.as_("bob"), url(fx.channel.id))
    for i in range(60):
        message = post(fx.channel, alice, f"{i}".encode(), reply_to_id=uuid.uuid4())
        Reaction.objects.create(message=message, user=alice, emoji="x")
    assert _queries(api.as_("bob"), url(fx.channel.id)) == few


# --- POST /channels/{id}/messages/bulk-delete ---------------------------------------------------


def bulk(channel_id: object) -> str:
    return f"/api/v1/channels/{channel_id}/messages/bulk-delete"


def test_bulk_delete_only_touches_this_channel(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    other = add_channel(fx.server)
    doomed = [post(fx.channel, alice) for _ in range(3)]
    elsewhere = post(other, alice)
    Reaction.objects.create(message=elsewhere, user=alice, emoji="x")
    Report.objects.create(reporter=alice, message_id=elsewhere.id, channel_id=other.id, reason="r")
    Report.objects.create(
        reporter=alice, message_id=doomed[0].id, channel_id=fx.channel.id, reason="r"
    )
    Report.objects.create(
        reporter=alice,
        message_id=doomed[1].id,
        channel_id=fx.channel.id,
        reason="r",
        status="resolved",
    )
    ids = [str(m.id) for m in doomed] + [str(elsewhere.id), str(uuid.uuid4())]
    with published() as events:
        response = api.as_("alice").post(bulk(fx.channel.id), {"message_ids": ids})
    assert response.json() == {"deleted": 3}
    assert list(Message.objects.values_list("id", flat=True)) == [elsewhere.id]
    assert Reaction.objects.filter(message=elsewhere).exists()
    # Settled reports go with their messages; pending ones stay for an instance admin.
    assert sorted(Report.objects.values_list("message_id", flat=True)) == sorted(
        [elsewhere.id, doomed[0].id]
    )
    assert events[0].type == "BulkMessagesDeleted"
    assert events[0].audience == to_channels(fx.channel.id)
    assert sorted(events[0].payload["message_ids"]) == sorted(str(m.id) for m in doomed)
    entry = AuditLogEntry.objects.get(
        action="message_bulk_delete"
    )  # the factories' own entries aside
    assert (entry.action, entry.target_type, entry.target_id, entry.changes) == (
        "message_bulk_delete",
        "channel",
        fx.channel.id,
        {"count": 3},
    )


def test_bulk_delete_errors_in_order(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    dm = make_dm(alice, bob)
    as_alice, as_bob = api.as_("alice"), api.as_("bob")
    one = {"message_ids": [str(uuid.uuid4())]}
    cases = [
        (
            as_alice.post(bulk(uuid.uuid4()), {"message_ids": []}),
            400,
            "Must provide 1-100 message IDs",
        ),
        (
            as_alice.post(bulk(fx.channel.id), {"message_ids": [str(uuid.uuid4())] * 101}),
            400,
            "Must provide 1-100 message IDs",
        ),
        (as_alice.post(bulk(uuid.uuid4()), one), 404, "Channel not found"),
        (as_alice.post(bulk(dm.id), one), 403, "Bulk delete only available in server channels"),
        (as_bob.post(bulk(fx.channel.id), one), 403, "Missing required permission"),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    add_role(fx.server, bob, Permission.MANAGE_MESSAGES)
    assert as_bob.post(bulk(fx.channel.id), one).json() == {"deleted": 0}
