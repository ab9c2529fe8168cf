"""Instance administration routes (api.md 2.26)."""

from __future__ import annotations

import pytest

from accounts.models import User
from chat.models import Server, ServerMember
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(api: Api) -> Api:
    api.register("admin", display_name="The Admin")
    api.register("bob", display_name="Bobby")
    api.register("carol")
    return api


def test_list_users_newest_first_with_search(people: Api) -> None:
    admin = people.as_("admin")
    users = admin.get("/api/v1/admin/users").json()
    assert [u["username"] for u in users] == ["carol", "bob", "admin"]
    assert set(users[0]) == {
        "id", "username", "display_name", "avatar_url", "created_at", "is_instance_admin",
        "server_count",
    }  # fmt: skip
    assert users[2]["is_instance_admin"] is True
    assert [u["username"] for u in admin.get("/api/v1/admin/users?search=BOB").json()] == ["bob"]
    assert [u["username"] for u in admin.get("/api/v1/admin/users?search=admin").json()] == [
        "admin"
    ]
    page = admin.get("/api/v1/admin/users?limit=1&offset=1").json()
    assert [u["username"] for u in page] == ["bob"]
    assert len(admin.get("/api/v1/admin/users?limit=0&offset=-5").json()) == 1


def test_server_count(people: Api) -> None:
    bob = User.objects.get(username="bob")
    server = Server.objects.create(owner=bob)
    ServerMember.objects.create(server=server, user=bob)
    users = people.as_("admin").get("/api/v1/admin/users?search=bob").json()
    assert users[0]["server_count"] == 1


def test_grant_and_revoke_admin(people: Api) -> None:
    admin = people.as_("admin")
    bob = people.users["bob"]
    granted = admin.put(f"/api/v1/admin/users/{bob.id}/admin", {"is_admin": True})
    assert granted.json() == {"user_id": bob.id, "is_instance_admin": True}
    assert people.as_("bob").get("/api/v1/admin/users").status_code == 200
    admin.put(f"/api/v1/admin/users/{bob.id}/admin", {"is_admin": False})
    assert people.as_("bob").get("/api/v1/admin/users").status_code == 403


def test_admin_cannot_demote_self(people: Api) -> None:
    admin = people.users["admin"]
    response = people.as_("admin").put(f"/api/v1/admin/users/{admin.id}/admin", {"is_admin": False})
    assert response.status_code == 400
    assert response.json()["error"] == "Cannot remove your own admin status"


def test_unknown_user(people: Api) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    admin = people.as_("admin")
    assert admin.put(f"/api/v1/admin/users/{missing}/admin", {"is_admin": True}).status_code == 404
    assert admin.delete(f"/api/v1/admin/users/{missing}").status_code == 404
    assert admin.put("/api/v1/admin/users/nope/admin", {"is_admin": True}).status_code == 400
    assert admin.put(f"/api/v1/admin/users/{missing}/admin", {"is_admin": "yes"}).status_code == 422


def test_delete_user_with_owned_server(people: Api) -> None:
    bob = User.objects.get(username="bob")
    server = Server.objects.create(owner=bob)
    ServerMember.objects.create(server=server, user=bob)
    response = people.as_("admin").delete(f"/api/v1/admin/users/{bob.id}")
    assert response.json() == {"deleted": True, "user_id": str(bob.id)}
    assert not User.objects.filter(id=bob.id).exists()
    assert not Server.objects.filter(id=server.id).exists()
    assert people.as_("bob").get("/api/v1/auth/sessions").status_code == 401


def test_admin_cannot_delete_self(people: Api) -> None:
    admin = people.users["admin"]
    response = people.as_("admin").delete(f"/api/v1/admin/users/{admin.id}")
    assert response.status_code == 400
    assert response.json()["error"] == "Cannot delete your own account via admin panel"
