"""Every server route against every kind of caller: a non-member, a member without the needed
bit, a member holding exactly that bit, an administrator, and the owner.

@everyone is reduced to VIEW_CHANNELS so that "a member without the bit" really lacks it; the
members with a role rank above the victims that routes act on, so the hierarchy never decides.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from accounts.models import User
from chat.models import Channel, ChannelCategory, Role, ServerMember
from chat.permissions import Permission
from invites.models import ServerInvite
from tests.chat.conftest import P, create_server, grant, join
from tests.helpers import Api

pytestmark = pytest.mark.django_db

NOT_MEMBER = "Not a member of this server"
MISSING = "Missing required permission"
MISSING_MANAGE_SERVER = "Missing MANAGE_SERVER permission"
_victims = itertools.count()


@dataclass
class Ctx:
    api: Api
    sid: str
    general: str

    def victim(self) -> str:
        """A fresh plain member to act on."""
        user = User.objects.create(username=f"victim{next(_victims)}")
        ServerMember.objects.create(server_id=self.sid, user=user)
        return str(user.id)

    def stranger(self) -> str:
        return str(User.objects.create(username=f"stranger{next(_victims)}").id)

    def low_role(self) -> str:
        return str(Role.objects.create(server_id=self.sid, name="low", position=1).id)

    def channel(self) -> str:
        return str(Channel.objects.create(server_id=self.sid, position=5).id)

    def category(self) -> str:
        return str(ChannelCategory.objects.create(server_id=self.sid, name="c").id)

    def invite(self) -> str:
        return str(ServerInvite.objects.create(server_id=self.sid, code=uuid.uuid4().hex[:8]).id)

    def everyone(self) -> str:
        return str(Role.objects.get(server_id=self.sid, is_default=True).id)


@dataclass
class Route:
    method: str
    path: str  # formatted with the Ctx attributes and what ``fresh`` returns
    need: int | None  # None: membership is enough
    body: Callable[[Ctx, dict[str, str]], Any] | None = None
    fresh: Callable[[Ctx], dict[str, str]] = field(default=lambda ctx: {})
    missing: str = MISSING  # the 403 text for a member without the bit
    outsider: str = NOT_MEMBER  # the 403 text for a non-member
    owner_status: int = 200

    def call(self, ctx: Ctx, who: str) -> Any:
        args = self.fresh(ctx)
        path = P + self.path.format(sid=ctx.sid, general=ctx.general, **args)
        client = ctx.api.as_(who)
        body = self.body(ctx, args) if self.body else None
        if self.method == "get":
            return client.get(path)
        return client.request(self.method, path, body if body is not None else {})


M = Permission
ROUTES: dict[str, Route] = {
    "get server": Route("get", "/servers/{sid}", None),
    "my permissions": Route("get", "/servers/{sid}/members/@me/permissions", None),
    "list members": Route("get", "/servers/{sid}/members", None),
    "list channels": Route("get", "/servers/{sid}/channels", None),
    "list categories": Route("get", "/servers/{sid}/categories", None),
    "list roles": Route("get", "/servers/{sid}/roles", None),
    "own nickname": Route("put", "/servers/{sid}/nickname", None, lambda c, a: {"nickname": "n"}),
    "channel members": Route(
        "get", "/channels/{general}/members", None, outsider="Not a member of this channel"
    ),
    "list overwrites": Route(
        "get", "/channels/{general}/overwrites", None, outsider="Not a server member"
    ),
    "join channel": Route(
        "post", "/channels/{general}/join", None, outsider="Not a member of the server"
    ),
    # a fresh member stays behind each time, so the owner may not leave
    "leave": Route(
        "delete",
        "/servers/{sid}/members/@me",
        None,
        fresh=lambda c: {"stays": c.victim()},
        owner_status=400,
    ),
    "patch server": Route(
        "patch", "/servers/{sid}", M.MANAGE_SERVER, lambda c, a: {}, missing=MISSING_MANAGE_SERVER
    ),
    "create channel": Route(
        "post", "/servers/{sid}/channels", M.MANAGE_CHANNELS, lambda c, a: {"encrypted_meta": ""}
    ),
    "reorder channels": Route(
        "put", "/servers/{sid}/channels/reorder", M.MANAGE_CHANNELS, lambda c, a: {"order": []}
    ),
    "rename channel": Route(
        "put", "/channels/{general}", M.MANAGE_CHANNELS, lambda c, a: {"encrypted_meta": ""}
    ),
    "delete channel": Route(
        "delete", "/channels/{channel}", M.MANAGE_CHANNELS, fresh=lambda c: {"channel": c.channel()}
    ),
    "set category": Route(
        "put",
        "/channels/{general}/category",
        M.MANAGE_CHANNELS,
        lambda c, a: {"category_id": a["category"]},
        fresh=lambda c: {"category": c.category()},
    ),
    "create category": Route(
        "post", "/servers/{sid}/categories", M.MANAGE_CHANNELS, lambda c, a: {"name": "n"}
    ),
    "reorder categories": Route(
        "put", "/servers/{sid}/categories/reorder", M.MANAGE_CHANNELS, lambda c, a: {"order": []}
    ),
    "update category": Route(
        "put",
        "/servers/{sid}/categories/{category}",
        M.MANAGE_CHANNELS,
        lambda c, a: {"name": "m"},
        fresh=lambda c: {"category": c.category()},
    ),
    "delete category": Route(
        "delete",
        "/servers/{sid}/categories/{category}",
        M.MANAGE_CHANNELS,
        fresh=lambda c: {"category": c.category()},
    ),
    "set overwrite": Route(
        "put",
        "/channels/{general}/overwrites",
        M.MANAGE_CHANNELS,
        lambda c, a: {
            "target_type": "role",
            "target_id": c.everyone(),
            "allow_bits": "0",
            "deny_bits": "0",
        },
    ),
    "delete overwrite": Route(
        "delete",
        "/channels/{general}/overwrites/role/{role}",
        M.MANAGE_CHANNELS,
        fresh=lambda c: {"role": c.low_role()},
    ),
    "create role": Route(
        "post", "/servers/{sid}/roles", M.MANAGE_ROLES, lambda c, a: {"name": "n"}
    ),
    "update role": Route(
        "put",
        "/servers/{sid}/roles/{role}",
        M.MANAGE_ROLES,
        lambda c, a: {"name": "m"},
        fresh=lambda c: {"role": c.low_role()},
    ),
    "delete role": Route(
        "delete",
        "/servers/{sid}/roles/{role}",
        M.MANAGE_ROLES,
        fresh=lambda c: {"role": c.low_role()},
    ),
    "assign role": Route(
        "put",
        "/servers/{sid}/members/{user}/roles",
        M.MANAGE_ROLES,
        lambda c, a: {"role_id": a["role"]},
        fresh=lambda c: {"role": c.low_role(), "user": c.victim()},
    ),
    "unassign role": Route(
        "delete",
        "/servers/{sid}/members/{user}/roles/{role}",
        M.MANAGE_ROLES,
        fresh=lambda c: {"role": c.low_role(), "user": c.victim()},
    ),
    "kick": Route(
        "delete",
        "/servers/{sid}/members/{user}",
        M.KICK_MEMBERS,
        fresh=lambda c: {"user": c.victim()},
    ),
    "ban": Route(
        "post",
        "/servers/{sid}/bans/{user}",
        M.BAN_MEMBERS,
        lambda c, a: {},
        fresh=lambda c: {"user": c.victim()},
    ),
    "unban": Route(
        "delete",
        "/servers/{sid}/bans/{user}",
        M.BAN_MEMBERS,
        fresh=lambda c: {"user": c.stranger()},
    ),
    "list bans": Route("get", "/servers/{sid}/bans", M.BAN_MEMBERS),
    "member nickname": Route(
        "put",
        "/servers/{sid}/members/{user}/nickname",
        M.MANAGE_SERVER,
        lambda c, a: {"nickname": "n"},
        fresh=lambda c: {"user": c.victim()},
        missing=MISSING_MANAGE_SERVER,
    ),
    "timeout": Route(
        "put",
        "/servers/{sid}/members/{user}/timeout",
        M.MODERATE_MEMBERS,
        lambda c, a: {"duration_seconds": 60},
        fresh=lambda c: {"user": c.victim()},
    ),
    "audit log": Route("get", "/servers/{sid}/audit-log", M.VIEW_AUDIT_LOG),
    "create invite": Route("post", "/servers/{sid}/invites", M.CREATE_INVITES, lambda c, a: {}),
    "list invites": Route("get", "/servers/{sid}/invites", M.MANAGE_INVITES),
    "delete invite": Route(
        "delete",
        "/servers/{sid}/invites/{invite}",
        M.MANAGE_INVITES,
        fresh=lambda c: {"invite": c.invite()},
    ),
}


@pytest.mark.parametrize("name", list(ROUTES))
def test_route_permissions(api: Api, name: str) -> None:
    route = ROUTES[name]
    for user in ("alice", "bob", "carol", "erin", "dave"):
        api.register(user)
    server = create_server(api, "alice")
    ctx = Ctx(api, server["id"], server["system_channel_id"])
    join(api, "alice", ctx.sid, "bob", "carol", "erin")
    Role.objects.filter(server_id=ctx.sid, is_default=True).update(
        permissions=int(Permission.VIEW_CHANNELS)
    )
    grant(api, "alice", ctx.sid, "carol", int(route.need or 0), position=10)
    grant(api, "alice", ctx.sid, "erin", int(Permission.ADMINISTRATOR), position=10)

    outsider = route.call(ctx, "dave")
    assert (outsider.status_code, outsider.json()["error"]) == (403, route.outsider)
    lacking = route.call(ctx, "bob")
    if route.need is None:
        assert lacking.status_code == 200, lacking
    else:
        assert (lacking.status_code, lacking.json()["error"]) == (403, route.missing)
    for holder in ("carol", "erin"):
        response = route.call(ctx, holder)
        assert response.status_code == 200, (holder, response)
    owner = route.call(ctx, "alice")
    assert owner.status_code == route.owner_status, owner


def test_server_delete_is_for_the_owner_alone(api: Api) -> None:
    for user in ("alice", "erin", "dave"):
        api.register(user)
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "erin")
    grant(api, "alice", server["id"], "erin", int(Permission.ADMINISTRATOR), position=10)
    path = f"{P}/servers/{server['id']}"
    outsider = api.as_("dave").delete(path)
    assert (outsider.status_code, outsider.json()["error"]) == (403, NOT_MEMBER)
    admin = api.as_("erin").delete(path)
    assert (admin.status_code, admin.json()["error"]) == (
        403,
        "Only the server owner can delete the server",
    )
    assert api.as_("alice").delete(path).status_code == 200


def test_private_channels_do_not_leak(api: Api) -> None:
    """A member who cannot view a channel gets nothing of it from any server route."""
    for user in ("alice", "bob"):
        api.register(user)
    server = create_server(api, "alice")
    sid = server["id"]
    join(api, "alice", sid, "bob")
    secret = (
        api.as_("alice")
        .post(f"{P}/servers/{sid}/channels", {"encrypted_meta": "", "is_private": True})
        .json()["id"]
    )
    everyone = str(Role.objects.get(server_id=sid, is_default=True).id)
    api.as_("alice").put(
        f"{P}/channels/{secret}/overwrites",
        {"target_type": "role", "target_id": everyone, "allow_bits": "0", "deny_bits": "128"},
    )
    listed = api.as_("bob").get(f"{P}/servers/{sid}/channels").json()
    assert secret not in {c["id"] for c in listed}
    assert api.as_("bob").get(f"{P}/channels/{secret}/members").status_code == 403
    assert api.as_("bob").get(f"{P}/channels/{secret}/overwrites").status_code == 404
    assert api.as_("bob").post(f"{P}/channels/{secret}/join").status_code == 404
    assert secret in {c["id"] for c in api.as_("alice").get(f"{P}/servers/{sid}/channels").json()}
