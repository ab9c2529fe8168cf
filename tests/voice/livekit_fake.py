"""A recorded-contract fake of LiveKit's RoomService Twirp API on 127.0.0.1: it checks the paths
the SDK posts to, the bearer token (signed with the API secret, carrying roomAdmin for that room)
and the protobuf bodies, records each call and answers like LiveKit.

    with running_fake() as url, configured(url) as fake: ...   # fake.recorded, fake.problems
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import Message
from livekit import api as lk
from livekit.api.access_token import Claims

from tests.helpers import haven_settings

KEY, SECRET = "roomservice-key", "roomservice-secret-long-enough-for-hs256-signing"
PREFIX = "/twirp/livekit.RoomService/"
CT = "application/protobuf"
REQUEST_TYPES: dict[str, type[Message]] = {
    "GetParticipant": lk.RoomParticipantIdentity,
    "MutePublishedTrack": lk.MuteRoomTrackRequest,
    "UpdateParticipant": lk.UpdateParticipantRequest,
    "RemoveParticipant": lk.RoomParticipantIdentity,
}


@dataclass
class Recorded:
    method: str
    body: Any
    claims: Claims
    content_type: str


class FakeLiveKit(BaseHTTPRequestHandler):
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
        body: Any = REQUEST_TYPES[method].FromString(raw)  # the message type of `method`
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
            self._reply(200, info.SerializeToString(), CT)
        elif method == "RemoveParticipant":
            if cls.participant_missing:
                self._twirp_error(404, "not_found", "participant does not exist")
                return
            self._reply(200, lk.RemoveParticipantResponse().SerializeToString(), CT)
        elif method == "MutePublishedTrack":
            track = lk.TrackInfo(sid=body.track_sid, type=lk.TrackType.AUDIO, muted=body.muted)
            response = lk.MuteRoomTrackResponse(track=track)
            self._reply(200, response.SerializeToString(), CT)
        else:
            info = lk.ParticipantInfo(identity=body.identity, permission=body.permission)
            self._reply(200, info.SerializeToString(), CT)


@contextmanager
def running_fake() -> Iterator[str]:
    """The fake listening on 127.0.0.1; yields its URL (for LIVEKIT_URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLiveKit)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"ws://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def configured(url: str) -> Iterator[type[FakeLiveKit]]:
    """Voice pointed at the fake, its records cleared; afterwards, no contract problem."""
    FakeLiveKit.recorded.clear()
    FakeLiveKit.problems.clear()
    FakeLiveKit.participant_missing = False
    FakeLiveKit.fail_with_500 = False
    with haven_settings(
        livekit_url=url, livekit_client_url=url, livekit_api_key=KEY, livekit_api_secret=SECRET
    ):
        yield FakeLiveKit
    assert FakeLiveKit.problems == []
