"""One-time prekeys under concurrent bundle requests (PostgreSQL: FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from accounts.actions.keys import do_upload_prekeys, key_bundle
from accounts.models import PreKey, User
from tests.helpers import Api

PREKEYS = 40
REQUESTS = 60


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_bundle_requests_never_share_a_prekey() -> None:
    alice = User.objects.get(id=Api().register("alice").id)
    PreKey.objects.filter(user=alice).delete()
    PreKey.objects.bulk_create(
        PreKey(user=alice, key_id=i, public_key=f"otp-{i}".encode()) for i in range(PREKEYS)
    )
    barrier = threading.Barrier(REQUESTS)
    handed: list[bytes | None] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def fetch() -> None:
        try:
            barrier.wait()
            key = key_bundle(alice.id).one_time_prekey
            with lock:
                handed.append(key)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=fetch) for _ in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [k for k in handed if k is not None]
    assert len(keys) == len(set(keys)) == PREKEYS  # every key once, none twice
    assert handed.count(None) == REQUESTS - PREKEYS
    assert not PreKey.objects.filter(user=alice, used=False).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_uploads_and_claims_keep_counts_consistent() -> None:
    alice = User.objects.get(id=Api().register("alice").id)

    barrier = threading.Barrier(8)
    claimed: list[bytes | None] = []

    def upload() -> None:
        barrier.wait()
        do_upload_prekeys(alice, ["AAAA"] * 10)
        connection.close()

    def claim() -> None:
        barrier.wait()
        claimed.append(key_bundle(alice.id).one_time_prekey)
        connection.close()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    threads += [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = PreKey.objects.filter(user=alice, used=True).count()
    assert used == len([k for k in claimed if k is not None])
    assert PreKey.objects.filter(user=alice).count() == 3 + 40
