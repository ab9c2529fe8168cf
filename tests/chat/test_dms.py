"""DMs, group DMs, DM requests and DM privacy (api.md 2.12)."""

from __future__ import annotations

import base64
import json
import threading
import uuid

import pytest
from django.db import connection

from accounts.models import User
from chat.actions.dms import do_open_dm
from chat.models import Channel, ChannelMember, DmStatus, Friendship, SenderKeyDistribution
from realtime.events import to_channels, to_users
from tests.factories import (
    add_member,
    befriend,
    make_dm,
    make_server,
    published,
    send_body,
    users,
)
from tests.helpers import Api, Response, b64

pytestmark = pytest.mark.django_db

META = b64(b"encrypted dm meta")


def open_dm(api: Api, who: str, target: User, meta: str = META) -> Response:
    return api.as_(who).post(
        "/api/v1/dm", {"target_user_id": str(target.id), "encrypted_meta": meta}
    )


def set_privacy(user: User, value: str) -> None:
    User.objects.filter(id=user.id).update(dm_privacy=value)


# --- DM privacy ---------------------------------------------------------------------------------


def test_dm_privacy_route(api: Api) -> None:
    (alice,) = users(api, "alice")
    assert User.objects.get(id=alice.id).dm_privacy == "friends_only"  # the default
    response = api.as_("alice").put("/api/v1/users/dm-privacy", {"dm_privacy": "everyone"})
    assert response.json() == {"dm_privacy": "everyone"}
    assert User.objects.get(id=alice.id).dm_privacy == "everyone"
    bad = api.as_("alice").put("/api/v1/users/dm-privacy", {"dm_privacy": "Everyone"})
    assert bad.json() == {
        "error": "dm_privacy must be 'everyone', 'friends_only', or 'server_members'",
        "status": 400,
    }
    assert api.as_("alice").put("/api/v1/users/dm-privacy", {}).status_code == 422


# --- POST /dm -----------------------------------------------------------------------------------


def test_open_dm_with_everyone_privacy_is_active(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    set_privacy(bob, "everyone")
    with published() as events:
        response = open_dm(api, "alice", bob)
    data = response.json()
    assert response.status_code == 200
    assert data["channel_type"] == "dm"
    assert data["server_id"] is None
    assert data["category_id"] is None
    assert data["dm_status"] == "active"
    assert data["encrypted_meta"] == META
    assert data["position"] == 0
    assert data["is_private"] is False
    assert "last_message_id" not in data
    assert events == []  # an active DM announces itself with its first message
    members = set(
        ChannelMember.objects.filter(channel_id=data["id"]).values_list("user_id", flat=True)
    )
    assert members == {alice.id, bob.id}


def test_friends_only_privacy_makes_a_pending_request_for_strangers(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    with published() as events:
        pending = open_dm(api, "alice", bob).json()
    assert pending["dm_status"] == "pending"
    assert [(e.type, e.payload, e.audience) for e in events] == [
        (
            "DmRequestReceived",
            {"channel_id": pending["id"], "from_user_id": str(alice.id)},
            to_users(bob.id, alice.id),  # alice's other devices list the new DM too
        )
    ]
    befriend(carol, bob)
    assert open_dm(api, "carol", bob).json()["dm_status"] == "active"


def test_server_members_privacy(api: Api) -> None:
    alice, bob, _carol = users(api, "alice", "bob", "carol")
    set_privacy(bob, "server_members")
    fx = make_server(alice)
    add_member(fx.server, bob)
    assert open_dm(api, "alice", bob).json()["dm_status"] == "active"
    assert open_dm(api, "carol", bob).json()["dm_status"] == "pending"


def test_open_dm_returns_the_existing_channel_without_decoding_meta(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    set_privacy(bob, "everyone")
    first = open_dm(api, "alice", bob).json()
    again = open_dm(api, "alice", bob, meta="not base64!").json()
    from_bob = open_dm(api, "bob", alice).json()
    assert first["id"] == again["id"] == from_bob["id"]
    assert Channel.objects.count() == 1


def test_open_dm_errors(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    cases = [
        (open_dm(api, "alice", alice), 400, "Cannot DM yourself"),
        (
            api.as_("alice").post(
                "/api/v1/dm", {"target_user_id": str(uuid.uuid4()), "encrypted_meta": META}
            ),
            404,
            "User not found",
        ),
        (open_dm(api, "alice", bob, meta="%%"), 400, "Invalid encrypted_meta encoding"),
        (
            open_dm(api, "alice", bob, meta=b64(b"m" * 8193)),
            400,
            "encrypted_meta exceeds maximum size (8KB)",
        ),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    assert not Channel.objects.exists()
    assert open_dm(api, "alice", bob, meta=b64(b"m" * 8192)).status_code == 200


def test_blocks_stop_opening_dms_both_ways(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    api.as_("bob").post(f"/api/v1/users/{alice.id}/block")
    for who, target in (("alice", bob), ("bob", alice)):
        response = open_dm(api, who, target)
        assert response.json() == {"error": "Cannot message this user", "status": 403}


# --- DM requests --------------------------------------------------------------------------------


def answer(api: Api, who: str, channel_id: object, action: str) -> Response:
    return api.as_(who).post(f"/api/v1/dm/{channel_id}/request", {"action": action})


def test_target_accepts_a_dm_request(api: Api) -> None:
    _alice, bob = users(api, "alice", "bob")
    channel_id = open_dm(api, "alice", bob).json()["id"]
    assert [c["id"] for c in api.as_("bob").get("/api/v1/dm/requests").json()] == [channel_id]
    assert [c["id"] for c in api.as_("alice").get("/api/v1/dm/requests").json()] == [channel_id]
    assert answer(api, "bob", channel_id, "accept").json() == {"message": "DM request accepted"}
    assert Channel.objects.get(id=channel_id).dm_status == DmStatus.ACTIVE
    assert api.as_("bob").get("/api/v1/dm/requests").json() == []
    response = api.as_("bob").post(f"/api/v1/channels/{channel_id}/messages", send_body(channel_id))
    assert response.status_code == 200


def test_target_declines_and_the_dm_goes_quiet(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    channel_id = open_dm(api, "alice", bob).json()["id"]
    assert answer(api, "bob", channel_id, "decline").json() == {"message": "DM request declined"}
    response = api.as_("alice").post(
        f"/api/v1/channels/{channel_id}/messages", send_body(channel_id)
    )
    assert response.json() == {"error": "This DM request was declined", "status": 403}
    # The requester reopening gets the declined DM back; the target reopening revives it.
    assert open_dm(api, "alice", bob).json()["dm_status"] == "declined"
    assert open_dm(api, "bob", alice).json()["dm_status"] == "active"


def test_target_opening_a_pending_request_accepts_it(api: Api) -> None:
    alice, bob = users(api, "alice", "bob")
    channel_id = open_dm(api, "alice", bob).json()["id"]
    assert open_dm(api, "alice", bob).json()["dm_status"] == "pending"
    reopened = open_dm(api, "bob", alice).json()
    assert (reopened["id"], reopened["dm_status"]) == (channel_id, "active")


def test_dm_request_errors_in_order(api: Api) -> None:
    alice, bob, mallory = users(api, "alice", "bob", "mallory")
    channel_id = open_dm(api, "alice", bob).json()["id"]
    group = make_dm(alice, bob, mallory, group=True)
    active = make_dm(alice, mallory)
    cases = [
        (answer(api, "bob", uuid.uuid4(), "accept"), 404, "Channel not found"),
        (answer(api, "bob", group.id, "accept"), 400, "Not a DM channel"),
        (answer(api, "alice", active.id, "accept"), 400, "DM is not pending"),
        (answer(api, "mallory", channel_id, "accept"), 403, "Not a member of this channel"),
        (answer(api, "alice", channel_id, "accept"), 403, "Cannot answer your own DM request"),
        (answer(api, "bob", channel_id, "maybe"), 400, "action must be 'accept' or 'decline'"),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    assert Channel.objects.get(id=channel_id).dm_status == DmStatus.PENDING


# --- GET /dm ------------------------------------------------------------------------------------


def test_list_dms_and_groups_newest_first(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    fx = make_server(alice)
    dm = make_dm(alice, bob, status=DmStatus.DECLINED)
    group = make_dm(alice, bob, carol, group=True)
    make_dm(bob, carol)
    listed = api.as_("alice").get("/api/v1/dm").json()
    assert [c["id"] for c in listed] == [str(group.id), str(dm.id)]
    assert str(fx.channel.id) not in {c["id"] for c in listed}
    assert listed[0]["channel_type"] == "group"
    assert listed[1]["dm_status"] == "declined"


# --- Group DMs ----------------------------------------------------------------------------------


def open_group(api: Api, who: str, members: list, meta: str = META) -> Response:
    return api.as_(who).post(
        "/api/v1/dm/group", {"member_ids": [str(m) for m in members], "encrypted_meta": meta}
    )


def test_open_group_with_friends(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    befriend(alice, bob)
    befriend(carol, alice)
    with published() as events:
        data = open_group(api, "alice", [bob.id, carol.id, alice.id]).json()
    assert (data["channel_type"], data["dm_status"], data["server_id"]) == ("group", "active", None)
    members = set(
        ChannelMember.objects.filter(channel_id=data["id"]).values_list("user_id", flat=True)
    )
    assert members == {alice.id, bob.id, carol.id}
    assert events == []


def test_open_group_errors(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    befriend(alice, bob)
    befriend(alice, carol, accepted=False)
    stranger = uuid.uuid4()
    cases = [
        (open_group(api, "alice", [bob.id]), "Group DM requires at least 2 other members"),
        (open_group(api, "alice", [bob.id] * 10), "Group DM can have at most 10 members total"),
        (open_group(api, "alice", [bob.id, carol.id]), f"User {carol.id} is not your friend"),
        (open_group(api, "alice", [bob.id, stranger]), f"User {stranger} is not your friend"),
        (open_group(api, "alice", [bob.id, bob.id]), "Group DM requires at least 2 other members"),
    ]
    for response, error in cases:
        assert response.json() == {"error": error, "status": 400}
    Friendship.objects.filter(addressee=carol).update(status="accepted")
    assert open_group(api, "alice", [bob.id, carol.id], meta="@@").json()["error"] == (
        "Invalid encrypted_meta encoding"
    )
    assert not Channel.objects.exists()


def add_to_group(api: Api, who: str, channel_id: object, user: object) -> Response:
    return api.as_(who).post(f"/api/v1/channels/{channel_id}/members", {"user_id": str(user)})


def test_add_group_member(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    group = make_dm(alice, bob, carol, group=True)
    befriend(alice, dave)
    assert add_to_group(api, "alice", group.id, dave.id).json() == {"added": True}
    assert ChannelMember.objects.filter(channel=group).count() == 4


def test_add_group_member_errors_in_order(api: Api) -> None:
    alice, bob, carol, dave = users(api, "alice", "bob", "carol", "dave")
    group = make_dm(alice, bob, carol, group=True)
    dm = make_dm(alice, bob)
    cases = [
        (add_to_group(api, "alice", uuid.uuid4(), dave.id), 404, "Channel not found"),
        (
            add_to_group(api, "alice", dm.id, dave.id),
            400,
            "Can only add members to group DM channels",
        ),
        (add_to_group(api, "dave", group.id, dave.id), 403, "Not a member of this channel"),
        (add_to_group(api, "alice", group.id, bob.id), 400, "User is already a member"),
        (add_to_group(api, "alice", group.id, uuid.uuid4()), 404, "User not found"),
        (add_to_group(api, "alice", group.id, dave.id), 400, f"User {dave.id} is not your friend"),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}
    for i in range(7):
        extra = User.objects.create(username=f"extra{i}", password="x")
        ChannelMember.objects.create(channel=group, user=extra)
    befriend(alice, dave)
    assert add_to_group(api, "alice", group.id, dave.id).json() == {
        "error": "Group DM cannot have more than 10 members",
        "status": 400,
    }


def test_leaving_tells_the_leavers_sockets_to_recheck(api: Api) -> None:
    from realtime.events import capture_controls

    alice, bob, carol = users(api, "alice", "bob", "carol")
    group = make_dm(alice, bob, carol, group=True)
    with capture_controls() as sent, published():
        api.as_("carol").delete(f"/api/v1/channels/{group.id}/leave")
    assert sent == [
        (
            to_users(carol.id),
            {"type": "gateway.control", "action": "recheck", "channel_id": str(group.id)},
        )
    ]


def test_leave_group(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    carol.display_name = "Carol C."
    carol.save()
    group = make_dm(alice, bob, carol, group=True)
    SenderKeyDistribution.objects.create(
        channel=group,
        from_user=alice,
        to_user=carol,
        distribution_id=uuid.uuid4(),
        encrypted_skdm=b"k",
    )
    SenderKeyDistribution.objects.create(
        channel=group,
        from_user=carol,
        to_user=alice,
        distribution_id=uuid.uuid4(),
        encrypted_skdm=b"k",
    )
    with published() as events:
        response = api.as_("carol").delete(f"/api/v1/channels/{group.id}/leave")
    assert response.json() == {"message": "Left channel"}
    assert not ChannelMember.objects.filter(channel=group, user=carol).exists()
    assert list(SenderKeyDistribution.objects.values_list("to_user_id", flat=True)) == [alice.id]
    assert [(e.type, e.audience) for e in events] == [("NewMessage", to_channels(group.id))]
    body = json.loads(base64.b64decode(events[0].payload["encrypted_body"]))
    assert body == {"event": "member_left", "username": "Carol C.", "user_id": str(carol.id)}
    # The last one out deletes the group.
    api.as_("alice").delete(f"/api/v1/channels/{group.id}/leave")
    api.as_("bob").delete(f"/api/v1/channels/{group.id}/leave")
    assert not Channel.objects.filter(id=group.id).exists()


def test_leave_group_errors(api: Api) -> None:
    alice, bob, _carol = users(api, "alice", "bob", "carol")
    group = make_dm(alice, bob, group=True)
    dm = make_dm(alice, bob)
    cases = [
        (
            api.as_("alice").delete(f"/api/v1/channels/{uuid.uuid4()}/leave"),
            404,
            "Channel not found",
        ),
        (
            api.as_("alice").delete(f"/api/v1/channels/{dm.id}/leave"),
            400,
            "Can only leave group DM channels",
        ),
        (
            api.as_("carol").delete(f"/api/v1/channels/{group.id}/leave"),
            403,
            "Not a member of this channel",
        ),
    ]
    for response, status, error in cases:
        assert response.json() == {"error": error, "status": status}


# --- Renaming a group (PUT /channels/{id}, a port addition) -------------------------------------


def rename(api: Api, who: str, channel_id: object, meta: object) -> Response:
    return api.as_(who).put(f"/api/v1/channels/{channel_id}", {"encrypted_meta": meta})


def group_meta(name: str, *members: User) -> str:
    """The meta the client writes (e2ee.md 8.1): type, name, participants, names."""
    ids = [str(m.id) for m in members]
    names = {str(m.id): m.username for m in members}
    meta = {"type": "group", "name": name, "participants": ids, "names": names}
    return b64(json.dumps(meta).encode())


def test_any_participant_renames_a_group_and_every_participant_hears_it(api: Api) -> None:
    alice, bob, carol = users(api, "alice", "bob", "carol")
    group = make_dm(alice, bob, carol, group=True)
    meta = group_meta("Trip", alice, bob, carol)
    with published() as events:
        response = rename(api, "bob", group.id, meta)
    assert response.status_code == 200
    data = response.json()
    assert (data["id"], data["channel_type"], data["encrypted_meta"]) == (
        str(group.id),
        "group",
        meta,
    )
    group.refresh_from_db()
    assert bytes(group.encrypted_meta) == base64.b64decode(meta)
    assert [(e.type, e.payload, e.audience) for e in events] == [
        (
            "ChannelUpdated",
            {"channel_id": str(group.id), "encrypted_meta": meta},
            to_users(alice.id, bob.id, carol.id),
        )
    ]
    assert api.as_("carol").get("/api/v1/dm").json()[0]["encrypted_meta"] == meta
    # The same meta again changes nothing, and says nothing.
    with published() as again:
        assert rename(api, "alice", group.id, meta).status_code == 200
    assert again == []


def test_group_rename_errors_change_nothing(api: Api) -> None:
    alice, bob, carol, _dave = users(api, "alice", "bob", "carol", "dave")
    group = make_dm(alice, bob, carol, group=True)
    dm = make_dm(alice, bob)
    good = group_meta("Trip", alice, bob, carol)
    with published() as events:
        cases = [
            (rename(api, "alice", dm.id, good), 403, "Cannot rename DM channels"),
            (rename(api, "dave", group.id, good), 403, "Not a member of this channel"),
            (rename(api, "dave", group.id, "@@"), 403, "Not a member of this channel"),
            (rename(api, "alice", group.id, "@@"), 400, "Invalid encrypted_meta encoding"),
            (
                rename(api, "alice", group.id, b64(b"x" * 8193)),
                400,
                "encrypted_meta exceeds maximum size (8KB)",
            ),
            (rename(api, "alice", uuid.uuid4(), good), 404, "Channel not found"),
        ]
        for response, status, error in cases:
            assert response.json() == {"error": error, "status": status}
        assert rename(api, "alice", group.id, 5).status_code == 422
        assert api.as_("alice").put(f"/api/v1/channels/{group.id}", {}).status_code == 422
        # Someone who left is no participant any more.
        api.as_("carol").delete(f"/api/v1/channels/{group.id}/leave")
        left = rename(api, "carol", group.id, good)
        assert (left.status_code, left.json()["error"]) == (403, "Not a member of this channel")
    assert [e.type for e in events] == ["NewMessage"]  # carol's member_left, nothing else
    group.refresh_from_db()
    dm.refresh_from_db()
    assert (bytes(group.encrypted_meta), bytes(dm.encrypted_meta)) == (b"group", b"dm")
    # Exactly 8 KiB is accepted, as for server channels.
    assert rename(api, "alice", group.id, b64(b"x" * 8192)).status_code == 200


def _open_in_thread(
    me: User, other: User, barrier: threading.Barrier, opened: list[uuid.UUID]
) -> None:
    try:
        barrier.wait()
        opened.append(do_open_dm(me, other.id, META).id)
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_dm_opening_makes_one_channel() -> None:
    api = Api()
    alice, bob = users(api, "alice", "bob")
    User.objects.filter(id__in=[alice.id, bob.id]).update(dm_privacy="everyone")
    for _ in range(5):
        Channel.objects.all().delete()
        barrier = threading.Barrier(4)
        opened: list[uuid.UUID] = []
        threads = [
            threading.Thread(target=_open_in_thread, args=(*pair, barrier, opened))
            for pair in [(alice, bob), (bob, alice), (alice, bob), (bob, alice)]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Channel.objects.count() == 1
        assert len(opened) == 4
        assert len(set(opened)) == 1
