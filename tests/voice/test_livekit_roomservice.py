"""Server mute/deafen enforced through LiveKit's RoomService, checked against a recorded-contract
fake of its Twirp API on 127.0.0.1: the paths the SDK posts to, the bearer token (signed with the
API secret, carrying roomAdmin for that room), and the protobuf bodies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from livekit import api as lk

from tests.chat.file_factories import add_member, make_channel, make_server
from tests.helpers import Api, haven_settings

KEY, SECRET = "roomservice-key", "roomservice-secret-long-enough-for-hs256-signing"
PREFIX = "/twirp/livekit.RoomService/"
REQUEST_TYPES = {
    "GetParticipant": lk.RoomParticipantIdentity,
    "MutePublishedTrack": lk.MuteRoomTrackRequest,
    "UpdateParticipant": lk.UpdateParticipantRequest,
}


@dataclass
class Recorded:
    method: str
    body: Any
    claims: lk.Claims
    content_type: str


class _FakeLiveKit(BaseHTTPRequestHandler):
    recorded: list[Recorded] = []
    problems: list[str] = []
    participant_missing = False
    fail_with_500 = False

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _twirp_error(self, status: int, code: str, msg: str) -> None:
        self._reply(status, json.dumps({"code": code, "msg": msg}).encode(), "application/json")

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        cls = type(self)
        if not self.path.startswith(PREFIX) or self.path[len(PREFIX) :] not in REQUEST_TYPES:
            cls.problems.append(f"unexpected path {self.path}")
            self._twirp_error(404, "bad_route", "no such method")
            return
        method = self.path[len(PREFIX) :]
        body = REQUEST_TYPES[method].FromString(raw)
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            cls.problems.append("no bearer token")
            self._twirp_error(401, "unauthenticated", "no token")
            return
        try:
            claims = lk.TokenVerifier(KEY, SECRET).verify(authorization[7:])
        except Exception as error:
            cls.problems.append(f"token does not verify: {error}")
            self._twirp_error(401, "unauthenticated", "bad token")
            return
        if not (claims.video and claims.video.room_admin and claims.video.room == body.room):
            cls.problems.append("token lacks roomAdmin for the room")
            self._twirp_error(403, "permission_denied", "not room admin")
            return
        cls.recorded.append(Recorded(method, body, claims, self.headers.get("Content-Type", "")))
        if cls.fail_with_500:
            self._twirp_error(500, "internal", "boom")
            return
        if method == "GetParticipant":
            if cls.participant_missing:
                self._twirp_error(404, "not_found", "participant does not exist")
                return
            info = lk.ParticipantInfo(
                identity=body.identity,
                tracks=[
                    lk.TrackInfo(sid="TR_mic", type=lk.TrackType.AUDIO, muted=False),
                    lk.TrackInfo(sid="TR_cam", type=lk.TrackType.VIDEO, muted=False),
                    lk.TrackInfo(sid="TR_old", type=lk.TrackType.AUDIO, muted=True),
                ],
            )
            self._reply(200, info.SerializeToString(), "application/protobuf")
        elif method == "MutePublishedTrack":
            track = lk.TrackInfo(sid=body.track_sid, type=lk.TrackType.AUDIO, muted=body.muted)
            response = lk.MuteRoomTrackResponse(track=track)
            self._reply(200, response.SerializeToString(), "application/protobuf")
        else:
            info = lk.ParticipantInfo(identity=body.identity, permission=body.permission)
            self._reply(200, info.SerializeToString(), "application/protobuf")


@pytest.fixture(scope="module")
def fake_livekit() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLiveKit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"ws://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def livekit(fake_livekit: str) -> Iterator[type[_FakeLiveKit]]:
    _FakeLiveKit.recorded.clear()
    _FakeLiveKit.problems.clear()
    _FakeLiveKit.participant_missing = False
    _FakeLiveKit.fail_with_500 = False
    with haven_settings(
        livekit_url=fake_livekit,
        livekit_client_url=fake_livekit,
        livekit_api_key=KEY,
        livekit_api_secret=SECRET,
    ):
        yield _FakeLiveKit
    assert _FakeLiveKit.problems == []


@pytest.fixture
def seated(api: Api) -> dict[str, Any]:
    alice = api.register("alice")
    bob = api.register("bob")
    server = make_server(alice.id)
    add_member(server, bob.id)
    voice = make_channel(server, "voice")
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
    livekit: type[_FakeLiveKit],
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
    livekit: type[_FakeLiveKit],
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
    livekit: type[_FakeLiveKit],
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
    livekit: type[_FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    livekit.participant_missing = True
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    assert [r.method for r in livekit.recorded] == ["GetParticipant"]


def test_livekit_failures_do_not_fail_the_request(
    api: Api,
    livekit: type[_FakeLiveKit],
    seated: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    livekit.fail_with_500 = True
    put(api, seated, "mute", True, django_capture_on_commit_callbacks)
    assert "LiveKit did not apply server mute/deafen" in caplog.text
