"""Django admin pages of the server domain."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from chat.models import AuditLogEntry
from tests.chat.conftest import P, create_server, join
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
