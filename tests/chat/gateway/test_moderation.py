"""Instance moderation on the socket (docs/moderation.md): a suspension ends the user's sockets
at once (every connection closes with 1008, the people who see the user learn they went offline,
the tokens are refused at the handshake; the two-instance version is in test_processes.py), and
a reporter's connections hear ``ReportResolved`` when an admin decides their report."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.actions.admin import do_suspend
from accounts.actions.instance_audit import Actor
from accounts.models import User
from chat.actions.report_decisions import Decision, do_decide
from chat.actions.reports import do_report
from chat.models import Channel, Message
from tests.chat.gateway.conftest import Ws
from tests.factories import (
    post,
)
from tests.helpers import PASSWORD, Api, TestUser

pytestmark = pytest.mark.django_db(transaction=True)


def _suspend(username: str, by: str) -> None:
    admin = User.objects.get(username=by)
    do_suspend(Actor.admin(admin), User.objects.get(username=username), reason="Spam")


def _second_login(api: Api, username: str) -> str:
    response = api.post("/api/v1/auth/login", {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response
    return str(response.json()["access_token"])


async def _next(ws: Ws, event_type: str, user_id: str) -> dict[str, Any]:
    while True:
        frame = await ws.recv()
        if frame["type"] == event_type and frame["payload"].get("user_id") == user_id:
            return frame


async def test_suspension_closes_every_socket_and_refuses_the_tokens(
    users: dict[str, TestUser], server: dict[str, Any], api: Api
) -> None:
    other_token = await sync_to_async(_second_login)(api, "bob")
    phone, laptop = Ws(users["bob"].access_token), Ws(other_token)
    await phone.open()
    await laptop.open()
    alice = Ws(users["alice"].access_token)  # alice registered first: the instance admin
    await alice.open()
    await alice.subscribe(server["first"])

    await sync_to_async(_suspend)("bob", by="alice")

    assert await phone.recv_raw(2) == {"type": "websocket.close", "code": 1008}
    assert await laptop.recv_raw(2) == {"type": "websocket.close", "code": 1008}
    offline = await _next(alice, "PresenceUpdate", users["bob"].id)
    assert offline["payload"]["status"] == "offline"
    for token in (users["bob"].access_token, other_token):
        status, _, body = await Ws(token).refused()
        assert (status, b"Invalid token" in body) == (401, True)
    await phone.close(1008)
    await laptop.close(1008)
    await alice.close()


async def test_a_socket_whose_session_outlived_the_suspension_is_closed_on_its_next_frame(
    users: dict[str, TestUser],
) -> None:
    """The close command is at-most-once; every operation re-checks the user as a request
    does, so a suspension is enforced even if the close never arrived."""
    bob = Ws(users["bob"].access_token)
    await bob.open()
    await sync_to_async(User.objects.filter(id=uuid.UUID(users["bob"].id)).update)(
        suspended_at=timezone.now(), suspension_reason="Spam"
    )
    await bob.send({"type": "Ping"})
    assert await bob.recv_raw(2) == {"type": "websocket.close", "code": 1008}
    await bob.close(1008)


def _report_and_ban(server: dict[str, Any]) -> str:
    """carol's message in alice's server, reported by bob; alice (the instance admin) bans
    carol for it from the report."""
    from chat.models import ServerMember

    alice, bob, carol = (User.objects.get(username=n) for n in ("alice", "bob", "carol"))
    channel = Channel.objects.get(id=server["first"])
    ServerMember.objects.create(server_id=server["id"], user=carol)
    message: Message = post(channel, carol, b"abuse")
    report = do_report(bob, message.id, channel.id, "abusive message", content="abuse")
    do_decide(Actor.admin(alice), report.id, Decision("ban_author", reason="abuse"))
    return str(report.id)


async def test_the_reporter_hears_the_decision_on_every_connection(
    users: dict[str, TestUser], server: dict[str, Any]
) -> None:
    bob = Ws(users["bob"].access_token)
    await bob.open()
    report_id = await sync_to_async(_report_and_ban)(server)
    frame = await bob.recv()
    while frame["type"] != "ReportResolved":  # system message, presence: not subscribed here
        frame = await bob.recv()
    assert frame["payload"]["report_id"] == report_id
    assert (frame["payload"]["status"], frame["payload"]["outcome"]) == (
        "resolved",
        "author_banned",
    )
    await bob.close()
