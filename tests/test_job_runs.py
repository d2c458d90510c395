"""The compact runs of a job answer as one RunFacts per run updated event by event."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest

from dpgraph.product_lineage.model import TERMINAL_RANK, RunFacts
from dpgraph.product_lineage.runs import JobRuns

TYPES = ["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER", "CUSTOM_STATE"]
BASE = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def reference(events: list[tuple[str, dt.datetime, str]]) -> dict[str, RunFacts]:
    """The rule written plainly: earliest event, latest event (the later of equal times),
    latest terminal event (a tie in time goes to the higher rank)."""
    runs: dict[str, RunFacts] = {}
    for run_id, time, event_type in events:
        run = runs.setdefault(run_id, RunFacts(run_id, time, event_type, None, time))
        assert run.first_time is not None
        run.first_time = min(run.first_time, time)
        if time >= run.last_time:
            run.last_time, run.last_type = time, event_type
        rank = TERMINAL_RANK.get(event_type)
        if rank is not None and (run.terminal is None or (time, rank) > run.terminal[:2]):
            run.terminal = (time, rank, event_type)
    return runs


@pytest.mark.parametrize("seed", range(20))
def test_compact_runs_agree_with_run_facts(seed: int) -> None:
    rng = random.Random(seed)
    # UUIDs (kept as 16 bytes) and ids that are not (kept as text), few distinct times so
    # that ties in time (broken by rank, then by run id) are common
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(12)] + [
        "run-7", "00000000-0000-4000-8000-00000000000a-x", "{" + str(uuid.uuid4()) + "}"]
    events = [(rng.choice(ids), BASE + dt.timedelta(seconds=rng.randrange(5),
                                                    microseconds=rng.choice([0, 250])),
               rng.choice(TYPES)) for _ in range(rng.randrange(1, 60))]
    runs = JobRuns()
    for run_id, time, event_type in events:
        runs.note(run_id, time, event_type)
    expected = reference(events)
    assert len(runs) == len(expected)
    assert sorted(runs.created()) == sorted((r.first_time, k) for k, r in expected.items())
    created_last = max(r.first_time for r in expected.values() if r.first_time)
    assert sorted(runs.newest()) == sorted(
        k for k, r in expected.items() if r.first_time == created_last)
    last = max(expected.values(), key=lambda r: (r.time, r.run_id))
    assert runs.last() == last
    assert (runs.last().time, runs.last().state) == (last.time, last.state)


def test_no_runs() -> None:
    assert JobRuns().last() is None and list(JobRuns().created()) == []
    assert JobRuns().newest() == []
