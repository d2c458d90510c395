"""Backoff and report of a projection that cannot advance (dpgraph.services.stall)."""

from __future__ import annotations

from dpgraph.errors import ProjectionStalled, StoreUnavailable
from dpgraph.services.stall import MAX_WAIT, StallWatch, unavailable


def test_waits_double_up_to_the_cap_and_reset_where_the_failure_moves() -> None:
    watch = StallWatch("the graph projection")
    waits = [watch.failed(7, OSError("disk full")).retry_in for _ in range(9)]
    assert waits == [1, 2, 4, 8, 16, 32, MAX_WAIT, MAX_WAIT, MAX_WAIT]
    stalled = watch.stalled
    assert stalled is not None and stalled.after == 7 and stalled.attempts == 9
    assert stalled.as_json()["error"] == "OSError: disk full"
    since = stalled.since
    assert watch.failed(9, RuntimeError("x" * 1000)).retry_in == 1  # past 7: a new failure
    moved = watch.stalled
    assert moved is not None and moved.attempts == 1 and moved.since >= since
    assert len(moved.error) == 500
    watch.advanced()
    assert watch.stalled is None


def test_readers_are_told_whether_it_is_stuck_or_just_behind() -> None:
    watch = StallWatch("the graph projection")
    behind = unavailable("the graph projection", 3, 5, watch.stalled)
    assert type(behind) is StoreUnavailable and "behind the log" in behind.detail
    watch.failed(3, OSError("/secret/path: disk full"))
    stuck = unavailable("the graph projection", 3, 5, watch.stalled)
    assert isinstance(stuck, ProjectionStalled) and stuck.status == 503 and stuck.public
    assert "past log offset 3" in stuck.detail and "/secret" not in stuck.detail
