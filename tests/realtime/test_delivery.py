"""The one place that decides what a connection does with an event (realtime.delivery): skip,
deliver, or repair a hole first; for live doorbells and for entries read back from the store."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.delivery import SEEN_IDS, Delivery, Verdict
from realtime.replay import Entry

ME = "11111111-1111-1111-1111-111111111111"
GROUP = "ch.1"


def doorbell(sid: int | None, prev: int | None, event_id: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "gateway.event", "g": GROUP, "id": event_id, "frame": "{}"}
    if sid is not None:
        message.update(sid=f"1-{sid}", prev=f"1-{prev}")
    message.update(extra)
    return message


def joined(at: int = 1) -> Delivery:
    delivery = Delivery(ME)
    delivery.cursors[GROUP] = f"1-{at}"
    return delivery


def test_the_next_event_of_a_group_is_delivered_and_moves_the_cursor() -> None:
    delivery = joined(1)
    assert delivery.judge(doorbell(2, 1, "a")) is Verdict.DELIVER
    assert delivery.cursors[GROUP] == "1-2"


def test_an_event_at_or_before_the_cursor_is_skipped() -> None:
    delivery = joined(5)
    assert delivery.judge(doorbell(5, 4, "a")) is Verdict.SKIP
    assert delivery.judge(doorbell(3, 2, "b")) is Verdict.SKIP
    assert delivery.cursors[GROUP] == "1-5"


def test_a_group_left_is_skipped() -> None:
    assert Delivery(ME).judge(doorbell(2, 1, "a")) is Verdict.SKIP


def test_a_hole_asks_for_a_repair_and_changes_nothing() -> None:
    delivery = joined(1)
    message = doorbell(4, 3, "d")
    assert delivery.judge(message) is Verdict.REPAIR
    assert delivery.cursors[GROUP] == "1-1"
    assert delivery.judge(message) is Verdict.REPAIR  # the slow path judges it again


def test_a_repair_takes_the_missed_entries_then_the_doorbell() -> None:
    delivery = joined(1)
    message = doorbell(4, 3, "d")
    assert delivery.judge(message) is Verdict.REPAIR
    taken = [
        delivery.take(GROUP, Entry(f"1-{n}", e, f"1-{n - 1}", "{}"))
        for n, e in ((2, "b"), (3, "c"))
    ]
    assert taken == [True, True]
    assert delivery.after_repair(message) is Verdict.DELIVER
    assert delivery.cursors[GROUP] == "1-4"


def test_a_hole_left_by_a_recreated_log_is_not_a_hole() -> None:
    """``prev`` at or before the cursor (the log expired and started again) is no hole."""
    delivery = joined(7)
    assert delivery.judge(doorbell(9, 0, "a")) is Verdict.DELIVER


def test_hidden_events_are_skipped_but_move_the_cursor() -> None:
    delivery = joined(1)
    assert delivery.judge(doorbell(2, 1, "a", x=[ME])) is Verdict.SKIP
    assert delivery.cursors[GROUP] == "1-2"
    assert delivery.judge(doorbell(3, 2, "b", x=["someone else"])) is Verdict.DELIVER
    assert not delivery.take(GROUP, Entry("1-4", "c", "1-3", "{}", frozenset({ME})))
    assert delivery.cursors[GROUP] == "1-4"


def test_an_event_in_two_groups_is_written_once() -> None:
    delivery = joined(1)
    delivery.cursors["srv.1"] = "1-1"
    assert delivery.judge(doorbell(2, 1, "a")) is Verdict.DELIVER
    other = doorbell(2, 1, "a", g="srv.1")
    assert delivery.judge(other) is Verdict.SKIP
    assert delivery.cursors["srv.1"] == "1-2"


def test_events_that_are_not_replayable_keep_no_order_but_are_written_once() -> None:
    delivery = Delivery(ME)
    assert delivery.judge(doorbell(None, None, "ring")) is Verdict.DELIVER
    assert delivery.judge(doorbell(None, None, "ring")) is Verdict.SKIP
    assert delivery.judge(doorbell(None, None, "hidden", x=[ME])) is Verdict.SKIP


def test_a_replayed_event_is_not_written_again_live() -> None:
    """The resume path and the live path share the seen ids."""
    delivery = joined(1)
    assert delivery.first_copy("a")
    assert delivery.judge(doorbell(2, 1, "a")) is Verdict.SKIP


def test_only_the_last_seen_ids_are_remembered() -> None:
    delivery = Delivery(ME)
    for n in range(SEEN_IDS + 1):
        assert delivery.first_copy(f"e{n}")
    assert delivery.first_copy("e0")  # forgotten: the oldest went first
    assert not delivery.first_copy(f"e{SEEN_IDS}")


def test_the_next_event_of_a_group_is_judged_without_parsing_ids() -> None:
    """The common case, a doorbell whose ``prev`` is the connection's cursor, compares the ids
    as they are (store ids grow, so it is newer)."""
    message = doorbell(2, 1, "a")
    assert joined(1).judge(message) is Verdict.DELIVER
    assert "_seq" not in message


@pytest.mark.parametrize("cached", [True, False])
def test_the_sequence_number_is_cached_on_the_shared_doorbell(cached: bool) -> None:
    """Any other doorbell parses its sequence number once for every connection it rings."""
    message = doorbell(4, 3, "a")
    if cached:
        message["_seq"] = 4
    assert joined(1).judge(message) is Verdict.REPAIR
    assert message["_seq"] == 4
