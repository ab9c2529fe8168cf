"""Process-level gateway tests: real Daphne processes (``python -m haven_site.serve``) sharing
PostgreSQL and Redis, driven by the ``websockets`` client (docs/realtime.md).

Everything goes through the public interfaces, as clients do: accounts, servers, invites and DMs
over REST, messages with ``SendMessage`` over the socket."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.helpers import PASSWORD, b64
from tests.processes import (
    HavenProcess,
    live_database_url,
    live_env,
    live_process,
    live_redis_url,
    manage,
    prepare_database,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class Cluster:
    def __init__(self) -> None:
        self.env = live_env(
            live_database_url(os.environ["DATABASE_URL"]),
            live_redis_url(os.environ["REDIS_URL"]),
            # Voice configured (tokens are only minted; nothing connects to this address).
            LIVEKIT_URL="http://127.0.0.1:9",
            LIVEKIT_CLIENT_URL="wss://voice.example.com",
            LIVEKIT_API_KEY="devkey",
            LIVEKIT_API_SECRET="a-livekit-secret-that-is-long-enough-for-hs256",
        )
        prepare_database(self.env)
        self.a = live_process(self.env, "a").start()
        self.b = live_process(self.env, "b").start()

    def user(self, on: HavenProcess | None = None) -> dict[str, Any]:
        return (on or self.a).register(f"u{uuid.uuid4().hex[:12]}")

    def server_with(self, owner: dict[str, Any], *members: dict[str, Any]) -> dict[str, str]:
        """A server created over REST (its ``welcome`` channel), joined by invite."""
        rest = self.b.rest
        server = rest("POST", "/servers", owner["token"], {"encrypted_meta": b64(b"meta")})
        if members:
            invite = rest("POST", f"/servers/{server['id']}/invites", owner["token"], {})
            for member in members:
                rest("POST", f"/invites/{invite['code']}/join", member["token"])
        return {"server_id": server["id"], "channel_id": server["system_channel_id"]}

    def dm(self, sender: dict[str, Any], target: dict[str, Any]) -> str:
        self.b.rest("PUT", "/users/dm-privacy", target["token"], {"dm_privacy": "everyone"})
        body = {"target_user_id": target["id"], "encrypted_meta": b64(b"dm")}
        return str(self.b.rest("POST", "/dm", sender["token"], body)["id"])

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        yield running
    finally:
        running.stop()


class Client:
    def __init__(self, ws: Any, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.session_id = hello["payload"]["session_id"]

    @classmethod
    async def open(cls, server: HavenProcess, token: str) -> Client:
        ws = await websockets.connect(server.ws_url(token), compression=None, max_size=None)
        hello = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert hello["type"] == "Hello", hello
        return cls(ws, hello)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), wait))  # type: ignore[no-any-return, unused-ignore]

    async def expect(self, event_type: str, wait: float = 10) -> dict[str, Any]:
        """The next frame of this type, skipping presence updates of other users."""
        while True:
            frame = await self.recv(wait)
            if frame["type"] == event_type:
                return frame
            assert frame["type"] == "PresenceUpdate", frame

    async def frames(self, quiet: float = 1.0) -> list[dict[str, Any]]:
        """Everything that arrives until nothing has for ``quiet`` seconds."""
        out = []
        while True:
            try:
                out.append(await self.recv(quiet))
            except TimeoutError:
                return out

    async def subscribe(self, channel_id: str) -> None:
        await self.send({"type": "Subscribe", "payload": {"channel_id": channel_id}})
        assert (await self.expect("Subscribed"))["payload"] == {"channel_id": channel_id}

    async def closed_code(self, wait: float = 15) -> int | None:
        await asyncio.wait_for(self.ws.wait_closed(), wait)
        return self.ws.close_code  # type: ignore[no-any-return, unused-ignore]

    async def close(self) -> None:
        await self.ws.close()

    async def send_message(self, channel_id: str, text: str) -> str:
        """SendMessage; the id from its MessageAck (which comes before the echo)."""
        frame = {"channel_id": channel_id, "sender_token": b64(b"token")}
        frame["encrypted_body"] = b64(text.encode())
        await self.send({"type": "SendMessage", "payload": frame})
        ack = await self.expect("MessageAck")
        return str(ack["payload"]["message_id"])


def _texts(frames: list[dict[str, Any]], channel_id: str | None = None) -> list[str]:
    """The bodies of the NewMessages among ``frames``, in order."""
    return [
        base64.b64decode(f["payload"]["encrypted_body"]).decode()
        for f in frames
        if f["type"] == "NewMessage"
        and (channel_id is None or f["payload"]["channel_id"] == channel_id)
    ]


def _without_presence(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] != "PresenceUpdate"]


async def test_two_instances_deliver_every_message_once(cluster: Cluster) -> None:
    alice, bob = cluster.user(), cluster.user(on=cluster.b)
    channel = cluster.server_with(alice, bob)["channel_id"]
    alice_a = await Client.open(cluster.a, alice["token"])
    bob_b = await Client.open(cluster.b, bob["token"])
    bob_a = await Client.open(cluster.a, bob["token"])
    for client in (alice_a, bob_b, bob_a):
        await client.subscribe(channel)
    # Sent on A: the sender gets each MessageAck before its echo; B's and A's subscribers get
    # each message once, in order.
    for n in range(5):
        await alice_a.send_message(channel, f"m{n}")
        echo = await alice_a.expect("NewMessage")
        assert _texts([echo]) == [f"m{n}"]
    for client in (bob_b, bob_a):
        assert _texts(await client.frames(), channel) == [f"m{n}" for n in range(5)]
    assert _without_presence(await alice_a.frames(0.5)) == []
    # Typing sent through instance A, seen on B once.
    await alice_a.send({"type": "Typing", "payload": {"channel_id": channel}})
    for client in (alice_a, bob_b, bob_a):
        typing = [f for f in await client.frames() if f["type"] == "UserTyping"]
        assert len(typing) == 1
        assert typing[0]["payload"]["user_id"] == alice["id"]
    for client in (alice_a, bob_b, bob_a):
        await client.close()


async def test_a_dm_reaches_every_connection_of_the_recipient_once(cluster: Cluster) -> None:
    """A DM goes to its subscribers and to the recipient's user group: a connection that is in
    both (bob on B) gets it once, one that never subscribed (bob on A) gets it too."""
    alice, bob = cluster.user(), cluster.user()
    dm = cluster.dm(alice, bob)
    alice_a = await Client.open(cluster.a, alice["token"])
    bob_b = await Client.open(cluster.b, bob["token"])
    bob_a = await Client.open(cluster.a, bob["token"])
    await bob_b.subscribe(dm)
    for n in range(3):
        await alice_a.send_message(dm, f"dm{n}")
    for client in (bob_b, bob_a):
        assert _texts(await client.frames(), dm) == ["dm0", "dm1", "dm2"]
    assert _without_presence(await alice_a.frames(0.5)) == []  # acks only, no copy
    for client in (alice_a, bob_b, bob_a):
        await client.close()


async def _resume_after_restart(cluster: Cluster, *, resume_on_other: bool) -> None:
    """Messages sent to a user while its instance restarts (a deploy) are replayed on resume."""
    user, friend = cluster.user(), cluster.user(on=cluster.b)
    dm = cluster.dm(friend, user)
    sender = await Client.open(cluster.b, friend["token"])
    client = await Client.open(cluster.a, user["token"])
    for n in range(3):
        await sender.send_message(dm, f"before{n}")
    assert _texts(await client.frames()) == ["before0", "before1", "before2"]
    await asyncio.to_thread(cluster.a.stop)  # SIGTERM: save, close 1001, exit
    assert await client.closed_code() == 1001
    for n in range(4):
        await sender.send_message(dm, f"gap{n}")
    await asyncio.to_thread(cluster.a.start)
    target = cluster.b if resume_on_other else cluster.a
    again = await Client.open(target, user["token"])
    await again.send({"type": "Resume", "payload": {"session_id": client.session_id}})
    frames = []
    while True:
        frame = await again.recv()
        frames.append(frame)
        if frame["type"] in ("Resumed", "InvalidSession"):
            break
    assert _texts(frames) == ["gap0", "gap1", "gap2", "gap3"]
    assert frames[-1] == {"type": "Resumed", "payload": {"replayed_count": 4}}
    # And live delivery carries on.
    await sender.send_message(dm, "after")
    assert _texts(await again.frames()) == ["after"]
    await again.close()
    await sender.close()


async def test_resume_after_a_graceful_restart(cluster: Cluster) -> None:
    await _resume_after_restart(cluster, resume_on_other=False)


async def test_resume_on_the_other_instance_after_a_restart(cluster: Cluster) -> None:
    await _resume_after_restart(cluster, resume_on_other=True)


async def test_presence_goes_offline_when_the_last_connection_anywhere_closes(
    cluster: Cluster,
) -> None:
    alice, bob = cluster.user(), cluster.user()
    channel = cluster.server_with(alice, bob)["channel_id"]
    watcher = await Client.open(cluster.b, bob["token"])
    await watcher.subscribe(channel)
    on_a = await Client.open(cluster.a, alice["token"])
    on_b = await Client.open(cluster.b, alice["token"])
    updates = [f["payload"] for f in await watcher.frames() if f["type"] == "PresenceUpdate"]
    # One "online": the second connection (another instance) finds alice online already.
    assert updates == [{"user_id": alice["id"], "status": "online"}]
    await on_a.close()
    assert [f for f in await watcher.frames() if f["type"] == "PresenceUpdate"] == []
    await on_b.close()
    offline = await watcher.expect("PresenceUpdate")
    assert offline["payload"] == {"user_id": alice["id"], "status": "offline"}
    await watcher.close()


async def test_a_call_rings_and_ends_across_instances(cluster: Cluster) -> None:
    """Call state is shared: invited on A, answered on B, ended by the caller's disconnect."""
    alice, bob = cluster.user(), cluster.user()
    dm = cluster.dm(alice, bob)
    alice_a = await Client.open(cluster.a, alice["token"])
    bob_b = await Client.open(cluster.b, bob["token"])
    await alice_a.send({"type": "CallInvite", "payload": {"channel_id": dm}})
    ringing = await bob_b.expect("CallRinging")
    assert ringing["payload"]["caller_id"] == alice["id"]
    await bob_b.send({"type": "CallAccept", "payload": {"channel_id": dm}})
    for client in (alice_a, bob_b):
        accepted = await client.expect("CallAccepted")
        assert accepted["payload"] == {"channel_id": dm, "user_id": bob["id"]}
    await alice_a.close()  # alice's last connection: the connected call ends
    system = await bob_b.expect("NewMessage")
    body = json.loads(base64.b64decode(system["payload"]["encrypted_body"]))
    assert body["event"] == "call_ended"
    assert body["user_id"] == alice["id"]
    ended = await bob_b.expect("CallEnded")
    assert ended["payload"] == {"channel_id": dm, "ended_by": alice["id"]}
    await bob_b.close()


async def test_logout_closes_sockets_leaves_voice_and_ends_calls(cluster: Cluster) -> None:
    """REST logout on one instance: the user's socket on the other is closed (1008), and the
    people who can see them learn they went offline, left voice and ended their call."""
    alice, bob = cluster.user(), cluster.user()
    ids = cluster.server_with(alice, bob)
    voice = cluster.b.rest(
        "POST",
        f"/servers/{ids['server_id']}/channels",
        alice["token"],
        {"encrypted_meta": b64(b"voice"), "channel_type": "voice"},
    )["id"]
    dm = cluster.dm(alice, bob)
    watcher = await Client.open(cluster.b, bob["token"])
    await watcher.subscribe(ids["channel_id"])
    alice_a = await Client.open(cluster.a, alice["token"])
    assert (await watcher.expect("PresenceUpdate"))["payload"]["status"] == "online"
    joined = cluster.b.rest("POST", f"/voice/{voice}/join", alice["token"])
    assert joined["channel_id"] == voice
    assert (await watcher.expect("VoiceStateUpdate"))["payload"]["joined"] is True
    await alice_a.send({"type": "CallInvite", "payload": {"channel_id": dm}})
    await watcher.expect("CallRinging")
    await watcher.send({"type": "CallAccept", "payload": {"channel_id": dm}})
    await watcher.expect("CallAccepted")

    cluster.b.rest("POST", "/auth/logout", alice["token"])
    assert await alice_a.closed_code() == 1008
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] != "CallEnded":
        frames.append(await watcher.recv())
    # A second "offline" for alice may come from the closing socket when its next operation found
    # the session gone before the close command arrived (both say the same; clients apply it
    # idempotently): it is allowed, anything else is not.
    offline = {"type": "PresenceUpdate", "payload": {"user_id": alice["id"], "status": "offline"}}
    frames = [f for i, f in enumerate(frames) if f != offline or offline not in frames[:i]]
    kinds = [f["type"] for f in frames]
    assert kinds == ["PresenceUpdate", "VoiceStateUpdate", "NewMessage", "CallEnded"], json.dumps(
        frames
    )
    assert frames[0]["payload"] == {"user_id": alice["id"], "status": "offline"}
    assert frames[1]["payload"]["joined"] is False
    assert frames[1]["payload"]["channel_id"] == voice
    body = json.loads(base64.b64decode(frames[2]["payload"]["encrypted_body"]))
    assert body["event"] == "call_ended"
    assert frames[3]["payload"] == {"channel_id": dm, "ended_by": alice["id"]}
    roster = cluster.b.rest("GET", f"/voice/{voice}/participants", bob["token"])
    assert roster == []
    assert await watcher.frames(1.0) == []
    await watcher.close()


def _raw_handshake(server: HavenProcess, path: str, extra: str = "") -> tuple[str, bytes]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            sock.settimeout(1)
            try:
                while chunk := sock.recv(4096):
                    body += chunk
            except TimeoutError:
                pass
        return head.decode("latin-1"), body


async def test_handshake_refusals_and_no_compression(cluster: Cluster) -> None:
    user = cluster.user()
    head, body = _raw_handshake(cluster.a, "/api/v1/ws")
    assert head.startswith("HTTP/1.1 400")
    assert b"missing field `token`" in body
    head, body = _raw_handshake(cluster.a, "/api/v1/ws?token=nope")
    assert head.startswith("HTTP/1.1 401")
    assert json.loads(body) == {"error": "Invalid token", "status": 401}
    offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    head, _ = _raw_handshake(cluster.a, f"/api/v1/ws?token={user['token']}", offer)
    assert head.startswith("HTTP/1.1 101")
    assert "sec-websocket-extensions" not in head.lower()
    # Messages above 1 MiB are refused with 1009; 64 KiB are fine.
    client = await Client.open(cluster.a, user["token"])
    await client.ws.send('{"type":"Ping","pad":"' + "x" * 65_536 + '"}')
    assert (await client.expect("Pong"))["type"] == "Pong"
    await client.ws.send("x" * (1024 * 1024 + 10))
    assert await client.closed_code() == 1009


async def test_kill_9_gives_a_complete_replay_or_invalid_session(cluster: Cluster) -> None:
    user, friend = cluster.user(), cluster.user(on=cluster.b)
    dm = cluster.dm(friend, user)
    sender = await Client.open(cluster.b, friend["token"])
    client = await Client.open(cluster.a, user["token"])
    for n in range(3):
        await sender.send_message(dm, f"before{n}")
    assert _texts(await client.frames()) == ["before0", "before1", "before2"]
    await asyncio.sleep(1.5)  # let a checkpoint pass
    await asyncio.to_thread(cluster.a.kill)
    for n in range(4):
        await sender.send_message(dm, f"gap{n}")
    try:
        again = await Client.open(cluster.b, user["token"])
        await again.send({"type": "Resume", "payload": {"session_id": client.session_id}})
        frames = []
        while True:
            frame = await again.recv()
            frames.append(frame)
            if frame["type"] in ("Resumed", "InvalidSession"):
                break
        if frames[-1]["type"] == "Resumed":
            texts = _texts(frames)
            assert [t for t in texts if t.startswith("gap")] == [f"gap{n}" for n in range(4)]
            repeated = [t for t in texts if t.startswith("before")]
            assert repeated == sorted(set(repeated))  # at most repeats, each once
            assert frames[-1]["payload"]["replayed_count"] == len(frames) - 1
        else:
            assert frames == [{"type": "InvalidSession"}]
        await again.close()
        await sender.close()
    finally:
        await asyncio.to_thread(cluster.a.start)


async def test_revoking_one_session_closes_its_socket_on_the_other_instance(
    cluster: Cluster,
) -> None:
    """DELETE /auth/sessions/{family} on one instance closes, within a second, the socket that
    session opened on the other; a socket of another session of the same user stays."""
    import time

    user = cluster.user()
    [first] = cluster.b.rest("GET", "/auth/sessions", user["token"])
    second = cluster.b.login(user["username"])
    doomed = await Client.open(cluster.a, user["token"])
    kept = await Client.open(cluster.a, second)
    started = time.monotonic()
    revoked = cluster.b.rest("DELETE", f"/auth/sessions/{first['family_id']}", second)
    assert revoked == {"message": "Session revoked"}
    assert await doomed.closed_code(wait=1.0) == 1008
    assert time.monotonic() - started < 1.0
    await kept.send({"type": "Ping"})
    await kept.expect("Pong")
    await kept.close()


async def _resume(client: Client, session_id: str) -> list[dict[str, Any]]:
    """Resume; every frame up to and including Resumed or InvalidSession."""
    await client.send({"type": "Resume", "payload": {"session_id": session_id}})
    frames: list[dict[str, Any]] = []
    while not frames or frames[-1]["type"] not in ("Resumed", "InvalidSession"):
        frames.append(await client.recv())
    return frames


async def test_resume_on_the_other_instance_rechecks_access_and_leaves_no_gap(
    cluster: Cluster,
) -> None:
    """bob's session on one instance is resumed on the other: a message said between Resumed
    and the re-Subscribe arrives once; after a ban while he is away, repeated resumes of his
    old session replay nothing of the server."""
    alice, bob = cluster.user(), cluster.user()
    ids = cluster.server_with(alice, bob)
    channel = ids["channel_id"]
    sender = await Client.open(cluster.b, alice["token"])
    first = await Client.open(cluster.a, bob["token"])
    await first.subscribe(channel)
    await first.close()
    await sender.send_message(channel, "while away")
    second = await Client.open(cluster.b, bob["token"])
    assert _texts(await _resume(second, first.session_id)) == ["while away"]
    await sender.send_message(channel, "between")
    await second.subscribe(channel)
    await sender.send_message(channel, "live")
    assert _texts(await second.frames()) == ["between", "live"]
    await second.close()

    cluster.a.rest("POST", f"/servers/{ids['server_id']}/bans/{bob['id']}", alice["token"], {})
    await sender.send_message(channel, "after the ban")
    third = await Client.open(cluster.a, bob["token"])
    for _ in range(2):
        frames = await _resume(third, second.session_id)
        assert _texts(frames) == []
        assert frames[-1]["type"] == "Resumed"
        await sender.send_message(channel, "still after the ban")
    await third.close()
    await sender.close()


async def test_a_suspension_from_the_command_line_ends_sockets_on_every_instance(
    cluster: Cluster,
) -> None:
    """``manage.py suspend_user`` (a third process): the user's sockets on both instances close
    (1008), the people who see them learn they went offline and left voice, their tokens fail
    everywhere and sign-in answers with the reason; ``unsuspend_user`` lets them back in."""
    alice, bob = cluster.user(), cluster.user()
    ids = cluster.server_with(alice, bob)
    voice = cluster.b.rest(
        "POST",
        f"/servers/{ids['server_id']}/channels",
        alice["token"],
        {"encrypted_meta": b64(b"voice"), "channel_type": "voice"},
    )["id"]
    watcher = await Client.open(cluster.b, bob["token"])
    await watcher.subscribe(ids["channel_id"])
    on_a = await Client.open(cluster.a, alice["token"])
    on_b = await Client.open(cluster.b, alice["token"])
    cluster.a.rest("POST", f"/voice/{voice}/join", alice["token"])
    assert (await watcher.expect("VoiceStateUpdate"))["payload"]["joined"] is True

    done = await asyncio.to_thread(
        manage, "suspend_user", alice["username"], "--reason", "Spam", "--days", "1",
        env=cluster.env,
    )  # fmt: skip
    assert done.stdout.startswith(f"Suspended {alice['username']} until ")
    assert await on_a.closed_code() == 1008
    assert await on_b.closed_code() == 1008
    seen: list[dict[str, Any]] = []
    while "VoiceStateUpdate" not in [f["type"] for f in seen]:
        seen.append(await watcher.recv())
    assert {"user_id": alice["id"], "status": "offline"} in [
        f["payload"] for f in seen if f["type"] == "PresenceUpdate"
    ]
    assert seen[-1]["payload"]["joined"] is False
    async with httpx.AsyncClient(timeout=10) as http:
        for server in (cluster.a, cluster.b):
            refused = await http.get(
                f"{server.url}/api/v1/auth/sessions",
                headers={"Authorization": f"Bearer {alice['token']}"},
            )
            assert refused.json() == {"error": "Invalid token", "status": 401}
        body = {"username": alice["username"], "password": PASSWORD}
        login = await http.post(f"{cluster.a.url}/api/v1/auth/login", json=body)
        assert (login.status_code, login.json()["reason"]) == (403, "Spam")

    await asyncio.to_thread(manage, "unsuspend_user", alice["username"], env=cluster.env)
    assert cluster.b.login(alice["username"])
    await watcher.close()
