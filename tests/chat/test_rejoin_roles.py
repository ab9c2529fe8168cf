"""Leaving, a kick and a ban drop the member's assigned roles (issue 10 item 4): whoever rejoins
by invite starts with @everyone only, so a removed administrator does not get their power back."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest

from chat.models import MemberRole, ServerMember
from chat.permissions import DEFAULT_EVERYONE, Permission
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api, b64

pytestmark = pytest.mark.django_db

ADMIN = int(Permission.ADMINISTRATOR)


def kick(api: Api, sid: str, user_id: str) -> None:
    assert api.as_("alice").delete(f"{P}/servers/{sid}/members/{user_id}").status_code == 200


def leave(api: Api, sid: str, user_id: str) -> None:
    assert api.as_("bob").delete(f"{P}/servers/{sid}/members/@me").status_code == 200


def ban_then_unban(api: Api, sid: str, user_id: str) -> None:
    assert api.as_("alice").post(f"{P}/servers/{sid}/bans/{user_id}", {}).status_code == 200
    assert api.as_("alice").delete(f"{P}/servers/{sid}/bans/{user_id}").status_code == 200


@pytest.mark.parametrize("remove", [kick, leave, ban_then_unban])
def test_a_removed_administrator_rejoins_without_roles(
    api: Api, remove: Callable[[Api, str, str], None]
) -> None:
    for name in ("alice", "bob", "carol"):
        api.register(name)
    sid = str(create_server(api, "alice")["id"])
    join(api, "alice", sid, "bob", "carol")
    bob, carol = api.users["bob"].id, api.users["carol"].id
    role_id = grant(api, "alice", sid, "bob", ADMIN, position=5)
    before = api.as_("bob").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert before["permissions"] != str(DEFAULT_EVERYONE)  # an administrator before removal

    remove(api, sid, bob)
    join(api, "alice", sid, "bob")

    permissions = api.as_("bob").get(f"{P}/servers/{sid}/members/@me/permissions").json()
    assert permissions == {"permissions": str(DEFAULT_EVERYONE), "is_owner": False}
    members = {m["user_id"]: m for m in api.as_("alice").get(f"{P}/servers/{sid}/members").json()}
    assert members[bob]["role_ids"] == []
    profile = api.as_("alice").get(f"{P}/users/{bob}/profile?server_id={sid}").json()
    assert profile["roles"] == []
    denied = api.as_("bob").delete(f"{P}/servers/{sid}/members/{carol}")
    assert (denied.status_code, denied.json()["error"]) == (403, "Missing required permission")
    manage = api.as_("bob").patch(f"{P}/servers/{sid}", {"encrypted_meta": b64(b"taken over")})
    assert (manage.status_code, manage.json()["error"]) == (
        403,
        "Missing MANAGE_SERVER permission",
    )
    regrant = api.as_("bob").put(f"{P}/servers/{sid}/members/{bob}/roles", {"role_id": role_id})
    assert regrant.status_code == 403
    assert MemberRole.objects.filter(server_id=sid, user_id=carol).count() == 0
    assert list(MemberRole.objects.filter(server_id=sid).values_list("user_id", flat=True)) == []


def test_migration_drops_roles_left_by_earlier_removals(api: Api) -> None:
    """Rows kept by removals before the fix would otherwise still hand the power back."""
    from django.apps import apps

    migration = importlib.import_module("chat.migrations.0003_drop_roles_of_non_members")
    for name in ("alice", "bob", "carol"):
        api.register(name)
    sid = str(create_server(api, "alice")["id"])
    join(api, "alice", sid, "bob", "carol")
    role_id = grant(api, "alice", sid, "bob", ADMIN, position=5)
    grant(api, "alice", sid, "carol", 0, position=2)
    ServerMember.objects.filter(server_id=sid, user_id=api.users["bob"].id).delete()  # as before

    migration.drop_roles_of_non_members(apps, None)

    assert not MemberRole.objects.filter(role_id=role_id).exists()
    kept = MemberRole.objects.filter(server_id=sid).values_list("user_id", flat=True)
    assert [str(user_id) for user_id in kept] == [api.users["carol"].id]
