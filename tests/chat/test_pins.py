"""Pins: PinMessage/UnpinMessage actions (websocket.md 3.9-3.10) and the REST lists."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.actions import pins
from chat.models import Message, PinnedMessage
from chat.permissions import Permission
from haven_site.api.errors import ApiError
from realtime.events import to_channels
from tests.factories import (
    add_channel,
    add_member,
    add_overwrite,
    add_role,
    make_dm,
    make_server,
    post,
    published,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def error_of(call: object, *args: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        call(*args)  # type: ignore[operator]
    return info.value.status_code, info.value.message


def system_body(payload: dict) -> dict:
    return json.loads(base64.b64decode(payload["encrypted_body"]))


def test_pin_publishes_event_and_system_message(api: Api) -> None:
    (alice,) = users(api, "alice")
    alice.display_name = "Alice A."
    alice.save()
    fx = make_server(alice)
    message = post(fx.channel, alice)
    with published() as events:
        pins.do_pin_message(alice, fx.channel.id, message.id)
    assert [(e.type, e.audience) for e in events] == [
        ("MessagePinned", to_channels(fx.channel.id)),
        ("NewMessage", to_channels(fx.channel.id)),
    ]
    assert events[0].payload == {
        "channel_id": str(fx.channel.id),
        "message_id": str(message.id),
        "pinned_by": str(alice.id),
    }
    assert events[1].payload["message_type"] == "system"
    assert events[1].payload["sender_token"] == ""
    assert system_body(events[1].payload) == {
        "event": "message_pinned",
        "username": "Alice A.",
        "user_id": str(alice.id),
        "message_id": str(message.id),
    }


def test_unpin_publishes_event_and_system_message(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    pins.do_pin_message(alice, fx.channel.id, message.id)
    with published() as events:
        pins.do_unpin_message(alice, fx.channel.id, message.id)
    assert not PinnedMessage.objects.exists()
    assert [e.type for e in events] == ["MessageUnpinned", "NewMessage"]
    assert events[0].payload == {"channel_id": str(fx.channel.id), "message_id": str(message.id)}
    assert system_body(events[1].payload) == {
        "event": "message_unpinned",
        "username": "alice",
        "user_id": str(alice.id),
        "message_id": str(message.id),
    }


def test_pin_errors_with_exact_texts(api: Api) -> None:
    alice, mallory = users(api, "alice", "mallory")
    fx = make_server(alice)
    other = add_channel(fx.server)
    message = post(fx.channel, alice)
    elsewhere = post(other, alice)
    assert error_of(pins.do_pin_message, mallory, fx.channel.id, message.id) == (
        403,
        "Not a member of this channel",
    )
    assert error_of(pins.do_pin_message, alice, fx.channel.id, elsewhere.id) == (
        404,
        "Message not found in this channel",
    )
    assert error_of(pins.do_pin_message, alice, fx.channel.id, uuid.uuid4()) == (
        404,
        "Message not found in this channel",
    )
    pins.do_pin_message(alice, fx.channel.id, message.id)
    assert error_of(pins.do_pin_message, alice, fx.channel.id, message.id) == (
        400,
        "Validation error: Message is already pinned",
    )
    assert error_of(pins.do_unpin_message, alice, fx.channel.id, elsewhere.id) == (
        400,
        "Message is not pinned",
    )
    assert error_of(pins.do_unpin_message, mallory, fx.channel.id, message.id) == (
        403,
        "Not a member of this channel",
    )


def test_fifty_pins_per_channel(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    for _ in range(pins.MAX_PINS):
        PinnedMessage.objects.create(
            channel=fx.channel, message=post(fx.channel, alice), pinned_by=alice
        )
    assert error_of(pins.do_pin_message, alice, fx.channel.id, post(fx.channel, alice).id) == (
        400,
        "Validation error: Channel has reached the maximum of 50 pinned messages",
    )


def test_who_may_pin(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_member(fx.server, carol)
    carols = post(fx.channel, carol)
    bobs = post(fx.channel, bob)
    # A plain member pins their own message, not someone else's.
    pins.do_pin_message(bob, fx.channel.id, bobs.id)
    assert error_of(pins.do_pin_message, bob, fx.channel.id, carols.id) == (
        403,
        "Missing required permission",
    )
    # Nor unpin someone else's.
    assert error_of(pins.do_unpin_message, carol, fx.channel.id, bobs.id) == (
        403,
        "Missing required permission",
    )
    add_role(fx.server, bob, Permission.MANAGE_MESSAGES)
    pins.do_pin_message(bob, fx.channel.id, carols.id)
    # In a DM anyone taking part may pin.
    dm = make_dm(alice, bob)
    pins.do_pin_message(bob, dm.id, post(dm, alice).id)


def test_rest_pins_and_pin_ids(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    first, second = post(fx.channel, alice), post(fx.channel, alice)
    expired = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    PinnedMessage.objects.create(channel=fx.channel, message=expired, pinned_by=alice)
    pins.do_pin_message(alice, fx.channel.id, first.id)
    pins.do_pin_message(alice, fx.channel.id, second.id)
    as_bob = api.as_("bob")
    listed = as_bob.get(f"/api/v1/channels/{fx.channel.id}/pins").json()
    assert [m["id"] for m in listed] == [str(second.id), str(first.id)]  # latest pin first
    assert listed[0]["encrypted_body"] == base64.b64encode(b"hello").decode()
    ids = as_bob.get(f"/api/v1/channels/{fx.channel.id}/pin-ids").json()
    assert ids == [str(second.id), str(first.id)]
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.READ_MESSAGE_HISTORY)
    for path in ("pins", "pin-ids"):
        response = as_bob.get(f"/api/v1/channels/{fx.channel.id}/{path}")
        assert response.json() == {"error": "Missing required permission", "status": 403}
    assert api.as_("alice").get(f"/api/v1/channels/{uuid.uuid4()}/pins").status_code == 403


def test_deleting_a_pinned_message_removes_the_pin(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    pins.do_pin_message(alice, fx.channel.id, message.id)
    Message.objects.filter(id=message.id).delete()
    assert api.as_("alice").get(f"/api/v1/channels/{fx.channel.id}/pin-ids").json() == []
