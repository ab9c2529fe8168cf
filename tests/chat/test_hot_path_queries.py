"""What makes the send and history paths cheap (docs/performance.md), pinned as query counts
(REST and gateway send, history page, server list) and as the statements they use.

The rows every request reads (the session, the channel and its server, the membership, roles and
overwrites) are kept per process while nothing behind them changes (haven_site.epochs): a warm
REST send is one INSERT, a history page one SELECT, ``GET /servers`` no query at all. A change
anywhere (here: a role change, a kick, a new session) makes the next request read them again.

These tests commit (transaction=True): the caches are bypassed inside a transaction, where
uncommitted rows may be behind them, and pytest-django's ordinary tests run in one.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat.permissions import Permission
from tests.chat.conftest import P, create_server, join
from tests.helpers import Api, Response, haven_settings

pytestmark = pytest.mark.django_db(transaction=True)


def body() -> dict[str, object]:
    return {
        "channel_id": str(uuid.uuid4()),
        "sender_token": base64.b64encode(os.urandom(32)).decode(),
        "encrypted_body": base64.b64encode(os.urandom(96)).decode(),
        "has_attachments": False,
    }


def statements(call: Callable[[], Response]) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200, response
    control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
    return [q["sql"] for q in queries if not q["sql"].startswith(control)]


def overwrite(api: Api, server_id: str, channel: str, deny: int) -> None:
    everyone = api.as_("alice").get(f"{P}/servers/{server_id}/roles").json()[0]["id"]
    body = {"target_type": "role", "target_id": everyone, "allow_bits": "0", "deny_bits": str(deny)}
    response = api.as_("alice").put(f"{P}/channels/{channel}/overwrites", body)
    assert response.status_code == 200, response


@pytest.fixture
def world(api: Api) -> tuple[Api, str, str]:
    api.register("alice")
    api.register("bob")
    server = create_server(api, "alice")
    join(api, "alice", server["id"], "bob")  # a plain member: roles and overwrites apply
    channel = server["system_channel_id"]
    # An overwrite on the channel, so that its rows are read (owners skip them).
    overwrite(api, server["id"], channel, int(Permission.MENTION_EVERYONE))
    return api.as_("bob"), server["id"], channel


def test_a_warm_send_is_one_insert(world: tuple[Api, str, str]) -> None:
    bob, _, channel = world
    send = lambda: bob.post(f"{P}/channels/{channel}/messages", body())  # noqa: E731
    cold = statements(send)
    # The channel with its server, membership, roles, overwrites, timeout, insert (the
    # session was read by the requests before, and no session changed since).
    assert len(cold) == 6, "\n".join(cold)
    warm = statements(send)
    assert len(warm) == 1, warm
    assert warm[0].startswith("INSERT INTO"), warm


def test_a_send_without_attachments_is_no_transaction(
    world: tuple[Api, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The INSERT commits on its own (autocommit): no BEGIN and COMMIT round trips."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    bob, _, channel = world
    send = lambda: bob.post(f"{P}/channels/{channel}/messages", body())  # noqa: E731
    send()
    commits: list[object] = []
    original = BaseDatabaseWrapper.commit

    def counting(self: BaseDatabaseWrapper) -> None:
        commits.append(self)
        original(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "commit", counting)
    assert send().status_code == 200
    assert commits == []


def test_a_warm_history_page_is_one_select(world: tuple[Api, str, str]) -> None:
    bob, _, channel = world
    for _ in range(3):
        bob.post(f"{P}/channels/{channel}/messages", body())
    page = lambda: bob.get(f"{P}/channels/{channel}/messages?limit=50")  # noqa: E731
    assert len(statements(page)) == 1
    assert len(page().json()) == 4  # and the "bob joined" system message


def test_a_warm_server_list_reads_nothing(world: tuple[Api, str, str]) -> None:
    bob, _, _ = world
    servers = lambda: bob.get(f"{P}/servers")  # noqa: E731
    statements(servers)
    assert statements(servers) == []


def test_a_change_anywhere_is_read_again(world: tuple[Api, str, str], api: Api) -> None:
    """A role change, then a kick: each takes effect on the very next request."""
    bob, server_id, channel = world
    send = lambda: bob.post(f"{P}/channels/{channel}/messages", body())  # noqa: E731
    statements(send)
    overwrite(api, server_id, channel, int(Permission.SEND_MESSAGES))
    assert send().status_code == 403
    overwrite(api, server_id, channel, 0)
    assert send().status_code == 200
    kick = api.as_("alice").delete(f"{P}/servers/{server_id}/members/{api.users['bob'].id}")
    assert kick.status_code == 200, kick
    assert send().status_code == 403
    assert bob.get(f"{P}/channels/{channel}/messages").status_code == 403


def test_a_revoked_session_is_refused_at_once(world: tuple[Api, str, str], api: Api) -> None:
    bob, _, _ = world
    assert bob.get(f"{P}/servers").status_code == 200  # warm
    assert bob.post(f"{P}/auth/logout", {}).status_code == 200
    refused = bob.get(f"{P}/servers")
    assert refused.status_code == 401
    assert refused.json()["error"] == "Invalid token"


def test_a_suspension_applies_at_once_and_runs_out(world: tuple[Api, str, str], api: Api) -> None:
    """The session cache keeps the user's row; the suspension is judged at every use, so one
    that runs out lets the user back in though nothing was written."""
    import time
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User

    bob, _, _ = world
    assert bob.get(f"{P}/servers").status_code == 200  # warm
    until = timezone.now() + timedelta(seconds=1.5)
    User.objects.filter(id=api.users["bob"].id).update(
        suspended_at=timezone.now(), suspended_until=until
    )
    assert bob.get(f"{P}/servers").status_code == 401
    assert bob.get(f"{P}/servers").status_code == 401  # and again, from the cache
    time.sleep(max(0.0, (until - timezone.now()).total_seconds()) + 0.1)
    assert bob.get(f"{P}/servers").status_code == 200


def test_the_written_history_sql_reads_what_the_orm_reads(world: tuple[Api, str, str]) -> None:
    """The history page's hand-written statement (PostgreSQL) against the ORM's query, on a
    channel with an expired, an expiring, an edited and a reply message, at every cursor."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.actions import message_store
    from chat.models import Message

    bob, _, channel = world
    sent = [bob.post(f"{P}/channels/{channel}/messages", body()).json() for _ in range(5)]
    now = timezone.now()
    Message.objects.filter(id=sent[0]["id"]).update(expires_at=now - timedelta(seconds=1))
    Message.objects.filter(id=sent[1]["id"]).update(expires_at=now + timedelta(hours=1))
    Message.objects.filter(id=sent[2]["id"]).update(edited_at=now, reply_to_id=sent[3]["id"])
    if connection.vendor != "postgresql":
        pytest.skip("the written statement is PostgreSQL's")
    channel_id = uuid.UUID(channel)
    cursors = [
        None,
        *Message.objects.filter(channel_id=channel_id).values_list("timestamp", flat=True),
    ]
    for before in cursors:
        for limit in (1, 3, 50):
            orm = message_store.orm_page(channel_id, before, limit)
            assert message_store.sql_page(channel_id, before, limit) == orm
            assert [
                tuple(map(type, row)) for row in message_store.sql_page(channel_id, before, limit)
            ] == [tuple(map(type, row)) for row in orm]
    assert len(message_store.sql_page(channel_id, None, 50)) == 5  # 4 live + "bob joined"


def test_timestamps_are_read_as_django_reads_them() -> None:
    """haven_site.postgresql's compiled timestamptz parser: the values and labels of Django's
    own loader, from any offset, with microseconds or without."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's loader")
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader  # type: ignore[import-untyped]
    from psycopg.pq import Format

    from haven_site.postgresql.base import TIMESTAMPTZ_OID, TimestamptzLoader

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # a connection with its adapters
        raw = connection.connection
        loader = raw.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
        assert loader is not None
        ours = loader(TIMESTAMPTZ_OID, raw)
        django = type("Django", (BaseTzLoader,), {"timezone": connection.timezone})(
            TIMESTAMPTZ_OID, raw
        )
        assert isinstance(ours, TimestamptzLoader)
        assert ours.timezone == connection.timezone
        for text in (
            b"2026-12-06 09:42:28.007183+00",
            b"2026-12-06 11:42:28+02",
            b"1999-01-01 00:00:00.5-07:30",
        ):
            assert ours.load(text) == django.load(text)
            assert ours.load(text).tzinfo == django.load(text).tzinfo
        cursor.execute("SELECT now()")
        assert cursor.fetchone()[0].tzinfo == connection.timezone


@pytest.mark.parametrize("rate_limits", [False, True])
def test_a_warm_gateway_send_is_one_insert(
    world: tuple[Api, str, str], api: Api, rate_limits: bool
) -> None:
    """The gateway's SendMessage, as its database thread runs it (one unit of work: the rate
    limit, the session check, then the action): warm, the INSERT alone, as for REST."""
    from accounts.tokens import decode_access_token
    from chat.actions import messages
    from chat.gateway.identity import run_as

    _, _, channel = world
    claims = decode_access_token(api.users["bob"].access_token)

    def send() -> list[str]:
        fields = body()
        del fields["channel_id"], fields["has_attachments"]
        with (
            haven_settings(rate_limits_enabled=rate_limits),
            CaptureQueriesContext(connection) as queries,
        ):
            run_as(
                claims.user_id,
                claims.session_id,
                messages.do_send_message,
                (uuid.UUID(channel),),
                {**fields, "via_websocket": True},
                "send",
            )
        control = ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")
        return [q["sql"] for q in queries if not q["sql"].startswith(control)]

    send()
    warm = send()
    assert len(warm) == 1, warm
    assert warm[0].startswith("INSERT INTO"), warm


def test_a_timestamp_collision_outside_a_transaction_moves_a_microsecond(
    world: tuple[Api, str, str], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a transaction around it the INSERT commits alone; a collision in its channel
    fails that one statement, and the retry one microsecond later succeeds."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.actions import message_store
    from chat.models import Channel

    _, _, channel_id = world
    channel = Channel.objects.get(id=channel_id)
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    fields = {"sender_id": api.users["bob"].id, "sender_token": b"t", "encrypted_body": b"b"}
    first = message_store.insert_message(channel, **fields)
    second = message_store.insert_message(channel, **fields)
    assert not connection.in_atomic_block
    assert first.timestamp == moment
    assert second.timestamp == moment + timedelta(microseconds=1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_insert_and_the_page_are_bound_and_prepared_by_the_server(
    world: tuple[Api, str, str], api: Api
) -> None:
    """The message INSERT and the history page bind their parameters on the server (psycopg
    does not quote them into the text) and run as statements prepared once per connection."""
    from chat.actions import message_store
    from chat.models import Channel

    _, _, channel_id = world
    channel = Channel.objects.get(id=channel_id)
    fields = {"sender_id": api.users["bob"].id, "sender_token": b"t", "encrypted_body": b"b"}
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            message_store.insert_message(channel, **fields)
            message_store.read_page(channel.id, None, 50)
    assert all("%s" in q["sql"] or "$" in q["sql"] for q in queries), queries  # not inlined
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any(s.startswith('INSERT INTO "messages"') for s in prepared), prepared
    assert any(s.startswith("SELECT") and '"messages"' in s for s in prepared), prepared
