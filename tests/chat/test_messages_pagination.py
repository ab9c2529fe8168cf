"""Keyset pagination of history over 10,000 messages: nothing missing, nothing repeated, and the
same number of queries for every page."""

from __future__ import annotations

import time
from datetime import timedelta
from itertools import accumulate

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import Message
from tests.factories import (
    make_server,
    users,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

TOTAL = 10_000
PAGE = 100


def test_paging_through_ten_thousand_messages(api: Api) -> None:
    (alice,) = users(api, "alice")
    fx = make_server(alice)
    start = timezone.now() - timedelta(days=1)
    # Irregular gaps, down to one microsecond apart (timestamps are unique per channel).
    offsets = list(accumulate(1 + i % 7 for i in range(TOTAL)))
    Message.objects.bulk_create(
        (
            Message(
                channel=fx.channel,
                sender=alice,
                sender_token=b"t",
                encrypted_body=i.to_bytes(2, "big"),
                timestamp=start + timedelta(microseconds=offsets[i]),
            )
            for i in range(TOTAL)
        ),
        batch_size=1000,
    )
    as_alice = api.as_("alice")
    path = f"/api/v1/channels/{fx.channel.id}/messages?limit={PAGE}"
    seen: list[str] = []
    counts: set[int] = set()
    before = None
    began = time.monotonic()
    while True:
        query = path + (f"&before={before}" if before else "")
        with CaptureQueriesContext(connection) as ctx:
            page = as_alice.get(query).json()
        counts.add(len(ctx.captured_queries))
        if not page:
            break
        assert len(page) == PAGE
        seen.extend(m["id"] for m in page)
        before = page[-1]["timestamp"]
    elapsed = time.monotonic() - began
    assert len(seen) == TOTAL
    assert len(set(seen)) == TOTAL
    expected = Message.objects.filter(channel=fx.channel).order_by("-timestamp")
    assert seen == [str(i) for i in expected.values_list("id", flat=True)]
    assert len(counts) == 1, counts  # every page (and the empty last one) costs the same
    assert elapsed < 30
