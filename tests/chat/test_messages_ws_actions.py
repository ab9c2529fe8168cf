"""The WebSocket message operations as actions (websocket.md 3.1-3.3), called directly as the
gateway calls them: exact Error texts, events and their audiences."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from chat.actions import messages
from chat.models import (
    Attachment,
    AuditLogEntry,
    DmStatus,
    Message,
    PinnedMessage,
    Reaction,
    Report,
)
from chat.permissions import Permission
from haven_site.api.errors import ApiError
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
    time_out,
    users,
)
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

TOKEN = b64(b"tok")
BODY = b64(b"body")


def send(user: User, channel_id: uuid.UUID, **kw: object) -> Message:
    fields: dict = {"sender_token": TOKEN, "encrypted_body": BODY, **kw}
    return messages.do_send_message(user, channel_id, via_websocket=True, **fields)


def error_of(call: object, *args: object, **kw: object) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        call(*args, **kw)  # type: ignore[operator]
    return info.value.status_code, info.value.message


# --- SendMessage --------------------------------------------------------------------------------


def test_send_message_publishes_new_message_to_subscribers(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    with published() as events:
        message = send(alice, fx.channel.id)
    assert [(e.type, e.audience) for e in events] == [("NewMessage", to_channels(fx.channel.id))]
    assert events[0].payload["id"] == str(message.id)
    assert "message_type" not in events[0].payload
    assert "reply_to_id" not in events[0].payload


def test_group_message_reaches_every_other_member(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    group = make_dm(alice, bob, carol, group=True)
    with published() as events:
        send(bob, group.id)
    assert events[0].audience == to_channels(group.id) | to_users(alice.id, carol.id)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"sender_token": "not!!valid!!base64"}, "Invalid sender_token encoding"),
        ({"encrypted_body": "@@"}, "Invalid encrypted_body encoding"),
        ({"encrypted_body": b64(b"x" * 8193)}, "Message too large"),
        # sender_token is checked before encrypted_body (websocket.md 3.1 steps 4-5)
        ({"sender_token": "??", "encrypted_body": "??"}, "Invalid sender_token encoding"),
    ],
)
def test_send_message_validation_texts(api: Api, fields: dict, error: str) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    assert error_of(send, alice, fx.channel.id, **fields) == (400, error)


def test_8192_bytes_is_the_websocket_limit(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = send(alice, fx.channel.id, encrypted_body=b64(b"x" * 8192))
    assert len(bytes(message.encrypted_body)) == 8192


def test_send_message_access_errors_in_spec_order(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    fx = make_server(alice)
    add_member(fx.server, bob)
    # Access comes first, even before the encodings.
    assert error_of(send, mallory, fx.channel.id, sender_token="??") == (
        403,
        "Not a member of this channel",
    )
    assert error_of(send, mallory, uuid.uuid4()) == (403, "Not a member of this channel")
    # Then the timeout, still before the encodings.
    time_out(fx.server, bob)
    assert error_of(send, bob, fx.channel.id, sender_token="??") == (
        403,
        "You are timed out in this server",
    )


def test_send_message_permission_errors(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.SEND_MESSAGES)
    assert error_of(send, bob, fx.channel.id) == (403, "Missing required permission")
    other = add_channel(fx.server)
    add_overwrite(other, "member", bob.id, deny=Permission.ATTACH_FILES)
    assert error_of(send, bob, other.id, attachment_ids=[uuid.uuid4()]) == (
        403,
        "Missing required permission",
    )
    secret = add_channel(fx.server, private=True)
    assert error_of(send, bob, secret.id) == (403, "Not a member of this channel")


def test_attachments_link_only_the_senders_unlinked_uploads(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    mine = Attachment.objects.create(uploader=alice, storage_key="a")
    theirs = Attachment.objects.create(uploader=bob, storage_key="b")
    taken = Attachment.objects.create(uploader=alice, storage_key="c")
    earlier = post(fx.channel, alice)
    Attachment.objects.filter(id=taken.id).update(message=earlier)
    message = send(
        alice, fx.channel.id, attachment_ids=[mine.id, theirs.id, taken.id, uuid.uuid4()]
    )
    assert message.has_attachments is True
    assert list(Attachment.objects.filter(message=message)) == [mine]
    assert Attachment.objects.get(id=theirs.id).message_id is None
    assert Attachment.objects.get(id=taken.id).message_id == earlier.id
    assert send(alice, fx.channel.id, attachment_ids=[]).has_attachments is False


def test_nonce_retry_returns_the_same_message_without_a_second_event(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    with published() as events:
        first = send(alice, fx.channel.id, nonce="abc")
        again = send(alice, fx.channel.id, nonce="abc", encrypted_body=b64(b"different"))
    assert first.id == again.id
    assert bytes(again.encrypted_body) == b"body"
    assert [e.type for e in events] == ["NewMessage"]


def test_nonce_conflict_between_concurrent_inserts_returns_the_winner(api: Api) -> None:
    """The insert that loses the (sender, nonce) race gets the stored message back."""
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    winner = post(fx.channel, alice, nonce="raced")
    original = messages._earlier_send
    calls = {"n": 0}

    def miss_first_time(*args: object) -> Message | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else original(*args)  # type: ignore[arg-type]

    messages._earlier_send = miss_first_time  # type: ignore[assignment]
    try:
        assert send(alice, fx.channel.id, nonce="raced").id == winner.id
    finally:
        messages._earlier_send = original
    assert Message.objects.count() == 1


# --- DM rules -----------------------------------------------------------------------------------


def test_blocks_stop_dm_messages_both_ways(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    assert api.as_("alice").post(f"/api/v1/users/{bob.id}/block").status_code == 200
    assert error_of(send, bob, dm.id) == (403, "Cannot message this user")
    assert error_of(send, alice, dm.id) == (403, "Cannot message this user")
    api.as_("alice").delete(f"/api/v1/users/{bob.id}/block")
    send(bob, dm.id)


def test_blocks_stop_edits_and_reactions_in_a_dm(api: Api) -> None:
    from chat.actions import reactions

    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob)
    bobs = post(dm, bob)
    alices = post(dm, alice)
    api.as_("alice").post(f"/api/v1/users/{bob.id}/block")
    assert error_of(messages.do_edit_message, bob, bobs.id, BODY) == (
        403,
        "Failed to edit message: Forbidden: Cannot edit this message",
    )
    assert error_of(reactions.do_add_reaction, bob, alices.id, "x") == (
        403,
        "Cannot message this user",
    )
    messages.do_delete_message(bob, bobs.id)  # taking one's words back stays possible


def test_blocks_do_not_silence_group_dms(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    group = make_dm(alice, bob, carol, group=True)
    api.as_("alice").post(f"/api/v1/users/{bob.id}/block")
    send(bob, group.id)


def test_pending_dm_takes_a_few_messages_from_its_requester_only(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob, status=DmStatus.PENDING, initiator=alice)
    assert error_of(send, bob, dm.id) == (403, "Accept the DM request first")
    for _ in range(messages.PENDING_DM_MESSAGES):
        send(alice, dm.id)
    assert error_of(send, alice, dm.id) == (403, "DM request is still pending")
    dm.dm_status = DmStatus.ACTIVE
    dm.save()
    send(alice, dm.id)
    send(bob, dm.id)


def test_declined_dm_takes_no_messages(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob, status=DmStatus.DECLINED, initiator=alice)
    assert error_of(send, alice, dm.id) == (403, "This DM request was declined")
    assert error_of(send, bob, dm.id) == (403, "This DM request was declined")


def test_legacy_dm_without_initiator_has_no_request_rules(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    dm = make_dm(alice, bob, status=DmStatus.PENDING)
    send(alice, dm.id)
    send(bob, dm.id)


def test_non_participant_cannot_send_to_a_dm(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    dm = make_dm(alice, bob)
    assert error_of(send, mallory, dm.id) == (403, "Not a member of this channel")


# --- EditMessage --------------------------------------------------------------------------------


def test_edit_message_updates_and_publishes(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    with published() as events:
        edited = messages.do_edit_message(alice, message.id, b64(b"new body"))
    assert bytes(Message.objects.get(id=message.id).encrypted_body) == b"new body"
    assert edited.edited_at is not None
    assert [(e.type, e.audience) for e in events] == [("MessageEdited", to_channels(fx.channel.id))]
    assert events[0].payload == {
        "message_id": str(message.id),
        "channel_id": str(fx.channel.id),
        "encrypted_body": b64(b"new body"),
    }
    page = api.as_("alice").get(f"/api/v1/channels/{fx.channel.id}/messages").json()
    assert page[0]["edited"] is True


def test_edit_message_errors(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    message = post(fx.channel, alice)
    forbidden = (403, "Failed to edit message: Forbidden: Cannot edit this message")
    assert error_of(messages.do_edit_message, alice, message.id, "!!") == (
        400,
        "Invalid encrypted_body encoding",
    )
    assert error_of(messages.do_edit_message, alice, message.id, b64(b"x" * 8193)) == (
        400,
        "Message too large",
    )
    assert error_of(messages.do_edit_message, bob, message.id, BODY) == forbidden
    assert error_of(messages.do_edit_message, alice, uuid.uuid4(), BODY) == forbidden
    gone = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    assert error_of(messages.do_edit_message, alice, gone.id, BODY) == forbidden
    # An author who lost access to the channel cannot edit there any more.
    bobs = post(fx.channel, bob)
    add_overwrite(fx.channel, "member", bob.id, deny=Permission.VIEW_CHANNELS)
    assert error_of(messages.do_edit_message, bob, bobs.id, BODY) == forbidden


def test_timed_out_author_may_delete_but_not_edit(api: Api) -> None:
    """An edit puts new words before the channel, so a timeout refuses it like a send; taking
    one's words back stays possible."""
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    message = post(fx.channel, bob)
    time_out(fx.server, bob)
    timed_out = (403, "You are timed out in this server")
    assert error_of(messages.do_edit_message, bob, message.id, BODY) == timed_out
    messages.do_delete_message(bob, message.id)


# --- DeleteMessage ------------------------------------------------------------------------------


def _decorate(message: Message, user: User) -> None:
    Reaction.objects.create(message=message, user=user, emoji="x")
    PinnedMessage.objects.create(channel=message.channel, message=message, pinned_by=user)
    Attachment.objects.create(uploader=user, storage_key="k", message=message)
    Report.objects.create(
        reporter=user, message_id=message.id, channel_id=message.channel_id, reason="r" * 10
    )


def test_author_deletes_own_message_with_everything_attached(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    message = post(fx.channel, alice)
    _decorate(message, alice)
    with published() as events:
        messages.do_delete_message(alice, message.id)
    assert not Message.objects.exists()
    assert not Reaction.objects.exists()
    assert not PinnedMessage.objects.exists()
    assert not Attachment.objects.exists()
    # The pending report outlives the message: its author cannot make it disappear.
    assert Report.objects.get().status == "pending"
    assert not AuditLogEntry.objects.exists()  # no audit for one's own message
    assert [(e.type, e.audience, e.payload) for e in events] == [
        (
            "MessageDeleted",
            to_channels(fx.channel.id),
            {"message_id": str(message.id), "channel_id": str(fx.channel.id)},
        )
    ]


def test_moderator_delete_needs_manage_messages_checked_before_side_effects(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    fx = make_server(alice)
    add_member(fx.server, bob)
    add_member(fx.server, carol)
    message = post(fx.channel, carol)
    _decorate(message, carol)
    assert error_of(messages.do_delete_message, bob, message.id) == (
        403,
        "Cannot delete this message",
    )
    assert Reaction.objects.count() == PinnedMessage.objects.count() == Report.objects.count() == 1
    add_role(fx.server, bob, Permission.MANAGE_MESSAGES)
    messages.do_delete_message(bob, message.id)
    assert not Message.objects.exists()
    entry = AuditLogEntry.objects.get(action="message_delete")  # the factories' own entries aside
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.changes) == (
        "message_delete",
        bob.id,
        "message",
        message.id,
        {"channel_id": str(fx.channel.id)},
    )


def test_owner_deletes_anyones_message(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    fx = make_server(alice)
    add_member(fx.server, bob)
    messages.do_delete_message(alice, post(fx.channel, bob).id)
    assert AuditLogEntry.objects.get().action == "message_delete"


def test_delete_message_errors(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    dm = make_dm(alice, bob)
    in_dm = post(dm, alice)
    fx = make_server(alice)
    in_server = post(fx.channel, alice)
    assert error_of(messages.do_delete_message, bob, uuid.uuid4()) == (404, "Message not found")
    assert error_of(messages.do_delete_message, bob, in_dm.id) == (
        403,
        "Cannot delete this message",
    )
    # Someone who cannot see the channel learns nothing about the message.
    assert error_of(messages.do_delete_message, mallory, in_server.id) == (404, "Message not found")
    assert Message.objects.count() == 2


def test_purge_expired_messages(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    gone = post(fx.channel, alice, expires_at=timezone.now() - timedelta(seconds=1))
    _decorate(gone, alice)
    keep = post(fx.channel, alice, expires_at=timezone.now() + timedelta(hours=1))
    Report.objects.create(
        reporter=alice, message_id=gone.id, channel_id=gone.channel_id, reason="r" * 10,
        status="dismissed",
    )  # fmt: skip
    assert messages.purge_expired_messages() == 1
    assert list(Message.objects.values_list("id", flat=True)) == [keep.id]
    assert list(Report.objects.values_list("status", flat=True)) == ["pending"]


def _send_in_thread(
    user: User, channel_id: uuid.UUID, barrier: threading.Barrier, ids: list[uuid.UUID]
) -> None:
    try:
        barrier.wait()
        ids.append(send(user, channel_id, nonce="retry-storm").id)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_nonce_store_one_message() -> None:
    (alice,) = users(Api(), "alice")
    fx = make_server(alice)
    barrier = threading.Barrier(6)
    ids: list[uuid.UUID] = []
    threads = [
        threading.Thread(target=_send_in_thread, args=(alice, fx.channel.id, barrier, ids))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 6
    assert len(set(ids)) == 1
    assert Message.objects.count() == 1
