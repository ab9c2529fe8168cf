"""Server invites (api.md 2.13), including the race for the last use of an invite."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from chat.models import ChannelMember, Message, ServerMember
from chat.permissions import Permission
from invites.actions.server_invites import CODE_ALPHABET
from invites.models import ServerInvite
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api, haven_settings

pytestmark = pytest.mark.django_db

INVITE_KEYS = {"id", "code", "server_id", "max_uses", "use_count", "expires_at", "created_at"}


@pytest.fixture
def sid(api: Api) -> str:
    """alice owns the server; bob is a member; carol and dave are not."""
    for name in ("alice", "bob", "carol", "dave"):
        api.register(name)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")
    ServerInvite.objects.all().delete()  # the one bob joined with
    return str(server["id"])


def invite(api: Api, user: str, sid: str, **body: object) -> dict[str, Any]:
    response = api.as_(user).post(f"{P}/servers/{sid}/invites", body)
    assert response.status_code == 200, response
    return response.json()


# --- POST /servers/{id}/invites ------------------------------------------------------------------


def test_create_invite_defaults(api: Api, sid: str) -> None:
    created = invite(api, "bob", sid)  # @everyone holds CREATE_INVITES
    assert set(created) == INVITE_KEYS
    assert created["server_id"] == sid
    assert (created["max_uses"], created["use_count"], created["expires_at"]) == (None, 0, None)
    code = str(created["code"])
    assert len(code) == 8
    assert set(code) <= set(CODE_ALPHABET)
    assert not set(code) & set("IOilo01")


def test_create_invite_with_limits(api: Api, sid: str) -> None:
    created = invite(api, "alice", sid, max_uses=3, expires_in_hours=1.5)
    assert created["max_uses"] == 3
    stored = ServerInvite.objects.get(id=created["id"])
    assert stored.expires_at is not None
    remaining = stored.expires_at - timezone.now()
    assert timedelta(minutes=89) < remaining <= timedelta(minutes=90)
    tiny = invite(api, "alice", sid, expires_in_hours=0.0001)  # 0.36 s truncates to 0
    assert tiny["expires_at"] is not None


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"max_uses": 0}, 400, "max_uses must be at least 1"),
        ({"max_uses": -1}, 400, "max_uses must be at least 1"),
        ({"expires_in_hours": 0}, 400, "expires_in_hours must be a positive number"),
        ({"expires_in_hours": -2.5}, 400, "expires_in_hours must be a positive number"),
        ({"expires_in_hours": 1e300}, 400, "expires_in_hours is too large"),
        ({"max_uses": "3"}, 422, None),
        ({"max_uses": 1.5}, 422, None),
        ({"expires_in_hours": "1"}, 422, None),
        ([], 422, None),
    ],
)
def test_create_invite_errors(
    api: Api, sid: str, body: object, status: int, error: str | None
) -> None:
    response = api.as_("alice").post(f"{P}/servers/{sid}/invites", body)
    assert response.status_code == status
    if error:
        assert response.json()["error"] == error
    assert not ServerInvite.objects.exists()


def test_create_invite_needs_json_and_membership(api: Api, sid: str) -> None:
    no_body = api.as_("bob").post(f"{P}/servers/{sid}/invites", content_type=None)
    assert no_body.status_code == 415
    outsider = api.as_("carol").post(f"{P}/servers/{sid}/invites", {})
    assert (outsider.status_code, outsider.json()["error"]) == (403, "Not a member of this server")
    missing = api.as_("carol").post(f"{P}/servers/{uuid.uuid4()}/invites", {})
    assert (missing.status_code, missing.json()["error"]) == (404, "Server not found")
    everyone = api.as_("alice").get(f"{P}/servers/{sid}/roles").json()[0]
    api.as_("alice").put(f"{P}/servers/{sid}/roles/{everyone['id']}", {"permissions": "0"})
    denied = api.as_("bob").post(f"{P}/servers/{sid}/invites", {})
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")


def test_create_invite_write_limit(api: Api, sid: str) -> None:
    with haven_settings(rate_limits_enabled=True):
        for _ in range(30):
            assert api.as_("bob").post(f"{P}/servers/{sid}/invites", {}).status_code == 200
        limited = api.as_("bob").post(f"{P}/servers/{sid}/invites", {})
        assert (limited.status_code, limited.json()) == (
            400,
            {"error": "Rate limit exceeded — try again later", "status": 400},
        )
        assert api.as_("alice").post(f"{P}/servers/{sid}/invites", {}).status_code == 200


# --- GET/DELETE /servers/{id}/invites ------------------------------------------------------------


def test_list_and_delete_invites(api: Api, sid: str) -> None:
    first = invite(api, "alice", sid)
    second = invite(api, "bob", sid, max_uses=1)
    listed = api.as_("alice").get(f"{P}/servers/{sid}/invites").json()
    assert [i["id"] for i in listed] == [second["id"], first["id"]]
    assert set(listed[0]) == INVITE_KEYS
    page = api.as_("alice").get(f"{P}/servers/{sid}/invites?limit=1&offset=1").json()
    assert [i["id"] for i in page] == [first["id"]]
    denied = api.as_("bob").get(f"{P}/servers/{sid}/invites")
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    assert api.as_("carol").get(f"{P}/servers/{sid}/invites").status_code == 403
    assert api.as_("alice").get(f"{P}/servers/{uuid.uuid4()}/invites").status_code == 404

    deleted = api.as_("alice").delete(f"{P}/servers/{sid}/invites/{first['id']}")
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": True})
    again = api.as_("alice").delete(f"{P}/servers/{sid}/invites/{first['id']}")
    assert (again.status_code, again.json()["error"]) == (404, "Invite not found")
    assert api.as_("bob").delete(f"{P}/servers/{sid}/invites/{second['id']}").status_code == 403
    grant(api, "alice", sid, "bob", int(Permission.MANAGE_INVITES))
    assert api.as_("bob").get(f"{P}/servers/{sid}/invites").status_code == 200
    assert api.as_("bob").delete(f"{P}/servers/{sid}/invites/{second['id']}").status_code == 200
    assert api.as_("bob").delete(f"{P}/servers/{sid}/invites/nope").status_code == 400


def test_delete_invite_is_scoped_to_its_server(api: Api, sid: str) -> None:
    other = create_server(api, "carol")
    foreign = invite(api, "carol", other["id"])
    response = api.as_("alice").delete(f"{P}/servers/{sid}/invites/{foreign['id']}")
    assert (response.status_code, response.json()["error"]) == (404, "Invite not found")
    assert ServerInvite.objects.filter(id=foreign["id"]).exists()


# --- POST /invites/{code}/join -------------------------------------------------------------------


def test_join_by_code(api: Api, sid: str) -> None:
    second = api.as_("alice").post(f"{P}/servers/{sid}/channels", {"encrypted_meta": ""}).json()
    code = invite(api, "alice", sid, max_uses=5)["code"]
    from accounts.models import User

    User.objects.filter(id=api.users["carol"].id).update(display_name="Caroline")
    response = api.as_("carol").post(f"{P}/invites/{code}/join")
    assert response.status_code == 200
    server = response.json()
    assert server["id"] == sid
    assert server["my_permissions"] == "1731456"
    carol = api.users["carol"].id
    assert ServerMember.objects.filter(server_id=sid, user_id=carol).exists()
    rows = set(ChannelMember.objects.filter(user_id=carol).values_list("channel_id", flat=True))
    assert {str(r) for r in rows} == {server["system_channel_id"], second["id"]}
    assert ServerInvite.objects.get(code=code).use_count == 1
    message = Message.objects.filter(channel_id=server["system_channel_id"]).latest("timestamp")
    import json

    assert json.loads(bytes(message.encrypted_body)) == {
        "event": "member_joined",
        "user_id": carol,
        "username": "Caroline",
    }


def test_join_announces_in_first_channel_without_system_channel(api: Api, sid: str) -> None:
    from chat.models import Channel, Server

    Server.objects.filter(id=sid).update(system_channel=None)
    first = Channel.objects.create(server_id=sid, position=-1)
    code = invite(api, "alice", sid)["code"]
    assert api.as_("carol").post(f"{P}/invites/{code}/join").status_code == 200
    assert Message.objects.filter(channel=first).count() == 1


def test_join_gives_no_rows_for_hidden_channels(api: Api, sid: str) -> None:
    secret = (
        api.as_("alice")
        .post(f"{P}/servers/{sid}/channels", {"encrypted_meta": "", "is_private": True})
        .json()
    )
    everyone = api.as_("alice").get(f"{P}/servers/{sid}/roles").json()[0]
    api.as_("alice").put(
        f"{P}/channels/{secret['id']}/overwrites",
        {"target_type": "role", "target_id": everyone["id"], "allow_bits": "0", "deny_bits": "128"},
    )
    code = invite(api, "alice", sid)["code"]
    api.as_("carol").post(f"{P}/invites/{code}/join")
    assert not ChannelMember.objects.filter(
        channel_id=secret["id"], user_id=api.users["carol"].id
    ).exists()


def test_join_errors(api: Api, sid: str) -> None:
    unknown = api.as_("carol").post(f"{P}/invites/NOPE2345/join")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "Invalid invite code")
    code = str(invite(api, "alice", sid)["code"])
    wrong_case = api.as_("carol").post(f"{P}/invites/{code.swapcase()}/join")
    assert wrong_case.status_code == 404
    member = api.as_("bob").post(f"{P}/invites/{code}/join")
    assert (member.status_code, member.json()["error"]) == (400, "Already a member of this server")
    expired = invite(api, "alice", sid, expires_in_hours=1)
    ServerInvite.objects.filter(id=expired["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = api.as_("carol").post(f"{P}/invites/{expired['code']}/join")
    assert (response.status_code, response.json()["error"]) == (400, "Invite has expired")
    single = invite(api, "alice", sid, max_uses=1)
    assert api.as_("carol").post(f"{P}/invites/{single['code']}/join").status_code == 200
    used = api.as_("dave").post(f"{P}/invites/{single['code']}/join")
    assert (used.status_code, used.json()["error"]) == (400, "Invite has reached max uses")
    assert ServerInvite.objects.get(id=single["id"]).use_count == 1
    api.as_("alice").post(f"{P}/servers/{sid}/bans/{api.users['dave'].id}", {})
    banned = api.as_("dave").post(f"{P}/invites/{code}/join")
    assert (banned.status_code, banned.json()["error"]) == (403, "You are banned from this server")
    assert api.post(f"{P}/invites/{code}/join", token="").status_code == 401


def test_failed_join_spends_no_use(api: Api, sid: str) -> None:
    code = invite(api, "alice", sid, max_uses=2)["code"]
    api.as_("bob").post(f"{P}/invites/{code}/join")  # already a member
    assert ServerInvite.objects.get(code=code).use_count == 0


# --- The race for the last use -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_joins_race_for_a_single_use_invite(api: Api) -> None:
    for name in ("alice", "racer1", "racer2"):
        api.register(name)
    server = create_server(api, "alice")
    code = invite(api, "alice", server["id"], max_uses=1)["code"]
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def race(name: str) -> None:
        from tests.helpers import Api as Client

        client = Client()
        client.users = api.users
        try:
            barrier.wait(timeout=10)
            results[name] = client.as_(name).post(f"{P}/invites/{code}/join").status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(n,)) for n in ("racer1", "racer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == [200, 400]
    assert ServerInvite.objects.get(code=code).use_count == 1
    assert ServerMember.objects.filter(server_id=server["id"]).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_ban_racing_a_join_never_leaves_a_banned_member(api: Api) -> None:
    """Join by invite and ban take the server's membership lock, so whichever commits second
    sees the other: the user ends either banned and outside, or (ban first) refused."""
    for name in ("alice", *(f"racer{i}" for i in range(6))):
        api.register(name)
    server = create_server(api, "alice")
    code = invite(api, "alice", server["id"])["code"]

    def act(name: str, barrier: threading.Barrier, ban: bool) -> None:
        from tests.helpers import Api as Client

        client = Client()
        client.users = api.users
        try:
            barrier.wait(timeout=10)
            if ban:
                target = api.users[name].id
                client.as_("alice").post(f"{P}/servers/{server['id']}/bans/{target}", {})
            else:
                client.as_(name).post(f"{P}/invites/{code}/join")
        finally:
            connection.close()

    for i in range(6):
        name = f"racer{i}"
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=act, args=(name, barrier, b)) for b in (True, False)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        user_id = api.users[name].id
        assert not ServerMember.objects.filter(server_id=server["id"], user_id=user_id).exists()
