"""Writes made through paths other than the REST actions (management commands, maintenance,
cascades, bulk and queryset writes, savepoints) move the cache epochs, so that
a warm per-process cache (haven_site.epochs) is not trusted afterwards. Each test warms a cache
in one unit of work, changes the rows through the suspect path, and reads again in a fresh unit
of work (its own thread, as a request or gateway operation of another process would)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from django.core.management import call_command
from django.db import close_old_connections, transaction
from django.utils import timezone

from accounts.authentication import live_user
from accounts.models import RefreshToken, User
from accounts.tokens import decode_access_token
from chat.access import channel_with_server, is_timed_out
from chat.models import Channel, MemberRole, PermissionOverwrite, Role, ServerMember, TargetType
from chat.permissions import Permission, permissions_in_channel, permissions_in_server
from haven_site import epochs
from ops.maintenance import purge_expired_sessions
from tests.factories import add_channel, add_member, add_role, make_server
from tests.helpers import Api

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

T = TypeVar("T")


def unit(work: Callable[[], T]) -> T:
    """``work`` as one unit of work in a thread of its own (epochs read once for it)."""
    box: dict[str, Any] = {}

    def run() -> None:
        epochs.begin()
        try:
            box["value"] = work()
        except BaseException as error:  # pragma: no cover - re-raised below
            box["error"] = error
        finally:
            epochs.end()
            close_old_connections()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def session_of(api: Api, name: str) -> tuple[uuid.UUID, uuid.UUID]:
    claims = decode_access_token(api.users[name].access_token)
    return claims.user_id, claims.session_id


def test_suspend_command_ends_a_cached_session(api: Api) -> None:
    api.register("alice")
    user_id, session = session_of(api, "alice")
    assert unit(lambda: live_user(user_id, session)) is not None  # warm
    call_command("suspend_user", "alice", "--reason", "audit")
    assert unit(lambda: live_user(user_id, session)) is None


def test_maintenance_purge_ends_a_cached_session(api: Api) -> None:
    api.register("alice")
    user_id, session = session_of(api, "alice")
    assert unit(lambda: live_user(user_id, session)) is not None
    RefreshToken.objects.filter(session_id=session).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert purge_expired_sessions() >= 1
    assert unit(lambda: live_user(user_id, session)) is None


def test_role_deleted_by_queryset_cascade(api: Api) -> None:
    alice, bob = (User.objects.get(id=api.register(n).id) for n in ("alice", "bob"))
    fx = make_server(alice)
    add_member(fx.server, bob)
    role = add_role(fx.server, bob, Permission.MANAGE_CHANNELS)
    assert unit(lambda: permissions_in_server(bob.id, fx.server).has(Permission.MANAGE_CHANNELS))
    Role.objects.filter(id=role.id).delete()  # cascades to member_roles
    assert not MemberRole.objects.filter(role_id=role.id).exists()
    assert not unit(
        lambda: permissions_in_server(bob.id, fx.server).has(Permission.MANAGE_CHANNELS)
    )


def test_membership_gone_with_a_deleted_user(api: Api) -> None:
    alice, bob = (User.objects.get(id=api.register(n).id) for n in ("alice", "bob"))
    fx = make_server(alice)
    add_member(fx.server, bob)
    assert unit(lambda: permissions_in_server(bob.id, fx.server).is_member)
    User.objects.filter(id=bob.id).delete()  # cascades to server_members
    assert not unit(lambda: permissions_in_server(bob.id, fx.server).is_member)


def test_bulk_update_of_channels(api: Api) -> None:
    alice = User.objects.get(id=api.register("alice").id)
    fx = make_server(alice)
    assert unit(lambda: channel_with_server(fx.channel.id)).position == 0  # type: ignore[union-attr]
    fx.channel.position = 7
    Channel.objects.bulk_update([fx.channel], ["position"])
    assert unit(lambda: channel_with_server(fx.channel.id)).position == 7  # type: ignore[union-attr]


def test_timeout_by_queryset_update(api: Api) -> None:
    alice, bob = (User.objects.get(id=api.register(n).id) for n in ("alice", "bob"))
    fx = make_server(alice)
    add_member(fx.server, bob)
    assert not unit(lambda: is_timed_out(bob.id, fx.server.id))
    ServerMember.objects.filter(server=fx.server, user=bob).update(
        timed_out_until=timezone.now() + timedelta(minutes=5)
    )
    assert unit(lambda: is_timed_out(bob.id, fx.server.id))


def test_outer_write_after_a_rolled_back_savepoint(api: Api) -> None:
    alice, bob = (User.objects.get(id=api.register(n).id) for n in ("alice", "bob"))
    fx = make_server(alice)
    add_member(fx.server, bob)
    channel = add_channel(fx.server)
    perms = permissions_in_server(bob.id, fx.server)
    view = int(Permission.VIEW_CHANNELS)
    assert unit(lambda: permissions_in_channel(bob.id, channel, perms) & view)

    with transaction.atomic():
        try:
            with transaction.atomic():
                ServerMember.objects.filter(server=fx.server, user=bob).update(nickname="x")
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        PermissionOverwrite.objects.create(
            channel=channel, target_type=TargetType.MEMBER, target_id=bob.id, deny_bits=view
        )
    assert not unit(lambda: permissions_in_channel(bob.id, channel, perms) & view)
