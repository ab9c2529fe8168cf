"""haven_site.epochs: per-process caches that follow every committed write of their tables."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.db import transaction

from accounts.models import User
from chat.models import Server, ServerMember
from haven_site import epochs, redisconn
from haven_site.epochs import EpochCache, _epochs_written

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def counter() -> Iterator[EpochCache]:
    cache = EpochCache("access")
    yield cache
    EpochCache.instances.remove(cache)


def computed(cache: EpochCache, key: object = "k") -> int:
    """The value cached under ``key``: a new number each time it is computed."""
    return cache.get(key, lambda: next(_numbers))


_numbers = itertools.count()


def test_writes_are_recognised_by_table() -> None:
    assert _epochs_written('INSERT INTO "server_members" ("id") VALUES (1)') == {"access"}
    assert _epochs_written('UPDATE "roles" SET "position" = 2') == {"access"}
    assert _epochs_written('DELETE FROM "device_sessions" WHERE "id" = 1') == {"auth"}
    assert _epochs_written('  delete from "channel_permission_overwrites"') == {"access"}
    assert _epochs_written('TRUNCATE "messages", "users";') == {"access", "auth"}
    assert _epochs_written('SELECT * FROM "server_members"') == set()
    assert _epochs_written('INSERT INTO "messages" ("id") VALUES (1)') == set()
    assert _epochs_written('UPDATE "read_states" SET "x" = 1') == set()


def make_user(name: str) -> User:
    return User.objects.create(username=name, password="x")


def test_a_value_is_kept_until_a_committed_write(counter: EpochCache) -> None:
    first = computed(counter)
    assert computed(counter) == first
    owner = make_user("owner")  # users: another epoch
    assert computed(counter) == first
    Server.objects.create(owner=owner)  # autocommit: at once
    second = computed(counter)
    assert second != first
    assert computed(counter) == second


def test_only_a_commit_moves_the_epoch(counter: EpochCache) -> None:
    owner = make_user("owner")
    before = epochs.current("access")
    with transaction.atomic():
        Server.objects.create(owner=owner)
        assert epochs.current("access") == before  # not yet committed
    after = epochs.current("access")
    assert after != before
    server = Server.objects.get()

    def add_and_fail() -> None:
        with transaction.atomic():
            ServerMember.objects.create(server=server, user=owner)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        add_and_fail()
    assert epochs.current("access") == after  # nothing changed, nothing moved


def test_several_writes_commit_one_bump(
    counter: EpochCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = make_user("owner")
    bumps: list[set[str]] = []
    original = epochs.bump

    def bump(names: set[str]) -> None:
        bumps.append(set(names))
        original(names)

    monkeypatch.setattr(epochs, "bump", bump)
    with transaction.atomic():
        server = Server.objects.create(owner=owner)
        ServerMember.objects.create(server=server, user=owner)
        User.objects.filter(id=owner.id).update(display_name="Owner")
    assert bumps == [{"access", "auth"}]


def test_inside_a_transaction_the_cache_is_not_used(counter: EpochCache) -> None:
    outside = computed(counter)
    with transaction.atomic():
        inside = computed(counter)
        assert inside != outside
        assert computed(counter) != inside
    assert computed(counter) == outside


def test_a_unit_of_work_reads_the_epochs_once(
    counter: EpochCache, epoch_reads: list[list[str]]
) -> None:
    epochs.begin()
    try:
        computed(counter, "a")
        computed(counter, "b")
        epochs.current("auth")
    finally:
        epochs.end()
    assert len(epoch_reads) == 1
    assert set(epoch_reads[0]) >= {"access", "auth"}


@pytest.mark.redis
def test_without_redis_the_cache_steps_aside(
    counter: EpochCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = computed(counter)

    def broken(**kwargs: object) -> None:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(redisconn, "sync_client", broken)
    assert computed(counter) != first
    assert computed(counter) != first


@pytest.mark.redis
def test_a_lost_epoch_never_comes_back(counter: EpochCache) -> None:
    """A flushed Redis restarts the epoch at a random value, not at a value seen before."""
    first = computed(counter)
    before = epochs.current("access")
    redisconn.sync_client().flushdb()
    after = epochs.current("access")
    assert after is not None
    assert after != before
    value, _, replid = after.partition("@")
    assert int(value) > 1 << 40
    assert replid  # the master's replication id: a failover changes every tag
    assert computed(counter) != first


def test_epochs_known_at_the_start_serve_that_unit_of_work_only(
    counter: EpochCache, epoch_reads: list[list[str]]
) -> None:
    """Epochs read by the rate limit's round trip start the unit of work they were read for;
    the next unit reads afresh."""
    names = epochs.names_to_read()
    known = epochs._read(names)
    epoch_reads.clear()

    def unit_of_work(known: dict[str, str | None] | None = None) -> str | None:
        epochs.begin(known)
        try:
            computed(counter)
            return epochs.current("access")
        finally:
            epochs.end()

    assert unit_of_work(known) == known["access"]
    assert epoch_reads == []
    unit_of_work()
    assert len(epoch_reads) == 1
