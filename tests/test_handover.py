"""Records handed to a follower come out in log order without gaps, or not at all."""

from __future__ import annotations

from dpgraph.log.handover import Handover
from dpgraph.log.sqlite_log import LogRecord


def rec(offset: int) -> LogRecord:
    return LogRecord(offset, "lineage.event", f"run:{offset}", "2026-11-24T00:00:00Z", "d", {})


def offsets(records: list[LogRecord]) -> list[int]:
    return [r.offset for r in records]


def test_contiguous_records_come_out_in_order_up_to_the_page() -> None:
    h = Handover(limit=100)
    h.offer([rec(5), rec(3), rec(4), rec(2)], after=1)
    assert offsets(h.take(after=1, limit=3)) == [2, 3, 4]
    assert offsets(h.take(after=4, limit=3)) == [5]
    assert h.take(after=5, limit=3) == []


def test_a_gap_means_read_the_log_and_stale_records_are_forgotten() -> None:
    h = Handover(limit=100)
    h.offer([rec(3), rec(4)], after=1)  # offset 2 (a registration) was not handed over
    assert h.take(after=1, limit=10) == []
    # the follower read 2..3 from the log: 3 is stale, 4 follows
    assert offsets(h.take(after=3, limit=10)) == [4]


def test_offers_at_or_before_the_offset_and_past_the_limit_are_dropped() -> None:
    h = Handover(limit=2)
    h.offer([rec(1), rec(2), rec(3), rec(4)], after=1)  # 1 is already applied; 4 over limit
    assert offsets(h.take(after=1, limit=10)) == [2, 3]
    assert h.take(after=3, limit=10) == []
