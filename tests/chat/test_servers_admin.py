"""Django admin pages of the server domain."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import InstanceAuditEntry, User
from chat.models import AuditLogEntry, Server
from tests.chat.conftest import P, create_server, join
from tests.factories import (
    published,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

PAGES = [
    "chat/server",
    "chat/channel",
    "chat/channelcategory",
    "chat/servermember",
    "chat/role",
    "chat/ban",
    "chat/auditlogentry",
    "invites/serverinvite",
]


@pytest.fixture
def admin_client(api: Api) -> Client:
    api.register("root")  # the first user is an instance admin
    api.register("bob")
    server = create_server(api, "root")
    join(api, "root", server["id"], "bob")
    api.as_("root").post(f"{P}/servers/{server['id']}/bans/{api.users['bob'].id}", {})
    client = Client()
    client.force_login(User.objects.get(username="root"))
    return client


@pytest.mark.parametrize("page", PAGES)
def test_changelists_load_and_search(admin_client: Client, page: str) -> None:
    assert admin_client.get(f"/admin/{page}/").status_code == 200
    assert admin_client.get(f"/admin/{page}/", {"q": "bob"}).status_code == 200


def test_server_list_shows_counts(admin_client: Client) -> None:
    body = admin_client.get("/admin/chat/server/").content.decode()
    assert "root" in body


def test_audit_log_is_read_only(admin_client: Client) -> None:
    entry = AuditLogEntry.objects.first()
    assert entry is not None
    assert admin_client.get("/admin/chat/auditlogentry/add/").status_code == 403
    detail = admin_client.get(f"/admin/chat/auditlogentry/{entry.id}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    assert admin_client.post(f"/admin/chat/auditlogentry/{entry.id}/delete/").status_code == 403
    assert AuditLogEntry.objects.filter(id=entry.id).exists()


def test_non_admin_is_kept_out(api: Api) -> None:
    api.register("root")
    api.register("eve")
    client = Client()
    client.force_login(User.objects.get(username="eve"))
    response = client.get("/admin/chat/server/")
    assert response.status_code == 302


# --- servers by name; take down and transfer (docs/moderation.md) ----------------------------


@pytest.fixture
def guild(api: Api) -> dict[str, Any]:
    """root (instance admin) is no member of carol's "Design Guild"; dave is a member."""
    for name in ("root", "carol", "dave", "erin"):
        api.register(name)
    server = create_server(api, "carol", b'{"name":"Design Guild"}')
    join(api, "carol", server["id"], "dave")
    client = Client()
    client.force_login(User.objects.get(username="root"))
    return {"id": server["id"], "client": client}


def test_servers_and_channels_show_by_name(api: Api, guild: dict[str, Any]) -> None:
    client = guild["client"]
    listing = client.get("/admin/chat/server/").content.decode()
    assert "Design Guild" in listing
    assert "carol" in listing
    create_server(api, "erin", b"\x00\xff not json")  # unreadable: a short id instead
    unreadable = Server.objects.get(owner__username="erin")
    assert f"#{str(unreadable.id)[:8]}" in client.get("/admin/chat/server/").content.decode()
    detail = client.get(f"/admin/chat/server/{guild['id']}/change/").content.decode()
    assert "Design Guild" in detail
    assert 'id="server-desk"' in detail
    assert b"welcome" in client.get("/admin/chat/channel/").content  # the default channel
    assert b"Design Guild" in client.get("/admin/chat/channel/").content
    assert "Channel categories" in client.get("/admin/").content.decode()


def test_an_admin_takes_a_server_down(guild: dict[str, Any]) -> None:
    client, server_id = guild["client"], guild["id"]
    act = f"/admin/chat/server/{server_id}/act/"
    unconfirmed = client.post(act, {"op": "delete", "reason": "CSAM"})
    assert "Tick the box" in client.get(unconfirmed["Location"]).content.decode()
    assert Server.objects.filter(id=server_id).exists()
    with published() as events:
        done = client.post(act, {"op": "delete", "reason": "CSAM", "confirm": "1"})
    assert done["Location"] == "/admin/chat/server/"
    assert not Server.objects.filter(id=server_id).exists()
    deleted = [e for e in events if e.type == "ServerDeleted"]
    assert len(deleted) == 1
    members = {u.id for u in User.objects.filter(username__in=("carol", "dave"))}
    assert members <= deleted[0].audience.users
    [entry] = InstanceAuditEntry.objects.all()
    assert (entry.action, entry.target_label, entry.reason, entry.details) == (
        "server_delete",
        "Design Guild",
        "CSAM",
        {"owner": "carol", "members": 2},
    )


def test_an_admin_transfers_a_server(guild: dict[str, Any]) -> None:
    client, server_id = guild["client"], guild["id"]
    act = f"/admin/chat/server/{server_id}/act/"
    for new_owner, error in (
        ("erin", "erin is not a member of this server"),
        ("carol", "carol already owns this server"),
        ("nobody", "user not found"),
    ):
        response = client.post(
            act, {"op": "transfer", "reason": "owner left", "new_owner": new_owner}
        )
        assert error in client.get(response["Location"]).content.decode().lower()
    assert not InstanceAuditEntry.objects.exists()
    with published() as events:
        client.post(act, {"op": "transfer", "reason": "owner left", "new_owner": "DAVE"})
    server = Server.objects.get(id=server_id)
    dave = User.objects.get(username="dave")
    assert server.owner_id == dave.id
    assert "ServerUpdated" in [e.type for e in events]
    audit = AuditLogEntry.objects.get(server=server, action="owner_transfer")
    assert (audit.target_id, audit.reason) == (dave.id, "owner left")
    [entry] = InstanceAuditEntry.objects.all()
    assert entry.details is not None
    assert (entry.action, entry.details["from_username"], entry.details["to_username"]) == (
        "server_transfer",
        "carol",
        "dave",
    )


@pytest.mark.parametrize("page", ["chat/ban", "chat/role", "chat/channel", "chat/servermember"])
def test_server_internals_change_only_through_the_app(guild: dict[str, Any], page: str) -> None:
    """Direct edits would skip the events and the audit log: these pages are read-only."""
    assert guild["client"].get(f"/admin/{page}/add/").status_code == 403
