"""Server mute/deafen enforced through LiveKit's RoomService, checked against the recorded-contract
fake of its Twirp API on 127.0.0.1 (tests/voice/livekit_fake.py): the paths the SDK posts to, the
bearer token (signed with the API secret, carrying roomAdmin for that room), and the protobuf
bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import (
    add_channel,
    add_member,
    make_server,
)
from tests.helpers import Api
from tests.voice.livekit_fake import FakeLiveKit, configured, running_fake


@pytest.fixture(scope="module")
def fake_livekit() -> Iterator[str]:
    with running_fake() as url:
        yield url


@pytest.fixture
def livekit(fake_livekit: str) -> Iterator[type[FakeLiveKit]]:
    with configured(fake_livekit) as fake:
        yield fake


@pytest.fixture
def seated(api: Api) -> dict[str, Any]:
    alice = api.register("alice")
    bob = api.register("bob")
    server = make_server(alice.id).server
    add_member(server, bob.id)
    voice = add_channel(server, "voice")
    assert api.as_("bob").post(f"/api/v1/voice/{voice.id}/join").status_code == 200
    return {"voice": voice, "bob": bob}


def put(api: Api, seated: dict[str, Any], what: str, value: bool, commit: Any) -> None:
    field = {"mute": "muted", "deafen": "deafened"}[what]
    url = f"/api/v1/voice/{seated['voice'].id}/members/{seated['bob'].id}/{what}"
    with commit(execute=True):
        response = api.as_("alice").put(url, {field: value})
    assert response.json() == {"ok": True}


def test_mute_silences_the_microphone_and_revokes_publishing(
    api: Api,
    livekit: type[FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    room, identity = str(seated["voice"].id), seated["bob"].id
    assert [r.method for r in livekit.recorded] == [
        "GetParticipant",
        "MutePublishedTrack",
        "UpdateParticipant",
    ]
    get, mute, update = livekit.recorded
    assert all(r.content_type == "application/protobuf" for r in livekit.recorded)
    assert (get.body.room, get.body.identity) == (room, identity)
    assert (mute.body.room, mute.body.identity, mute.body.track_sid, mute.body.muted) == (
        room, identity, "TR_mic", True,
    )  # fmt: skip
    assert (update.body.room, update.body.identity) == (room, identity)
    permission = update.body.permission
    assert (permission.can_publish, permission.can_subscribe, permission.can_publish_data) == (
        False, True, True,
    )  # fmt: skip
    for request in livekit.recorded:
        assert request.claims.video is not None
        assert request.claims.video.room_admin is True
        assert request.claims.video.room == room


def test_deafen_revokes_subscribing(
    api: Api,
    livekit: type[FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    put(api, seated, "deafen", True, django_capture_on_commit_callbacks)
    (update,) = livekit.recorded
    assert update.method == "UpdateParticipant"
    permission = update.body.permission
    assert (permission.can_publish, permission.can_subscribe) == (True, False)
    livekit.recorded.clear()
    put(api, seated, "deafen", False, django_capture_on_commit_callbacks)
    (restore,) = livekit.recorded
    assert (restore.body.permission.can_publish, restore.body.permission.can_subscribe) == (
        True, True,
    )  # fmt: skip


def test_unmute_restores_publishing_without_touching_tracks(
    api: Api,
    livekit: type[FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    livekit.recorded.clear()
    put(api, seated, "mute", False, django_capture_on_commit_callbacks)
    assert [r.method for r in livekit.recorded] == ["UpdateParticipant"]
    assert livekit.recorded[0].body.permission.can_publish is True


def test_a_participant_not_in_the_room_is_left_to_the_next_token(
    api: Api,
    livekit: type[FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    livekit.participant_missing = True
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    assert [r.method for r in livekit.recorded] == ["GetParticipant"]


def test_livekit_failures_do_not_fail_the_request(
    api: Api,
    livekit: type[FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    livekit.fail_with_500 = True
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    assert "LiveKit did not apply server mute/deafen" in caplog.text
