"""The projection worker behind the log: it waits for a batch worth writing under a steady
stream of events, but never keeps a reader waiting for it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.services import projection_worker
from dpgraph.services.lineage import to_record
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.projector import Projector
from dpgraph.store.oxigraph_store import OxigraphStore

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR", REPO.parent / "shared"))
EVENT = json.loads(sorted((SHARED / "corpus" / "openlineage" / "valid").rglob("*.json"))[0]
                   .read_bytes())
POLL = 0.01


def append_events(log: SqliteLog, first: int, n: int) -> int:
    """Append n events with fresh runIds, as the ingest front does; the log head after."""
    validator = EventValidator()
    records = []
    for i in range(first, first + n):
        body = {**EVENT, "run": {**EVENT["run"], "runId": f"00000000-0000-4000-8000-{i:012d}"}}
        records.append(to_record(validator.validate(body)))
    return log.append(records)[-1].offset


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[ProjectionWorker, SqliteLog]]:
    # A linger far longer than any wait below: whatever is projected early was not lingered.
    monkeypatch.setattr(projection_worker, "LINGER_SECONDS", 60.0)
    monkeypatch.setattr(projection_worker, "LINGER_RECORDS", 20)
    log = SqliteLog(tmp_path / "log.sqlite")
    store = OxigraphStore(None)
    running = ProjectionWorker(Projector(store, log, REPO / "ontology" / "dpgraph.ttl"), log,
                               poll_seconds=POLL)
    running.start()
    yield running, log
    running.stop()
    log.close()


def settle() -> None:
    time.sleep(1.0)  # a hundred polls of the log head


def test_a_few_events_wait_for_more_then_a_reader_gets_them_at_once(
        worker: tuple[ProjectionWorker, SqliteLog]) -> None:
    running, log = worker
    head = append_events(log, 0, 5)
    settle()
    assert running.projected == 0  # 5 of the 20 it waits for
    started = time.monotonic()
    running.wait_for_log()  # read-your-writes: projected now, not after the linger
    assert running.projected == head
    assert time.monotonic() - started < 30  # far from the 60 s linger


def test_a_full_batch_is_projected_without_lingering(
        worker: tuple[ProjectionWorker, SqliteLog]) -> None:
    running, log = worker
    head = append_events(log, 100, 25)
    deadline = time.monotonic() + 30
    while running.projected < head and time.monotonic() < deadline:
        time.sleep(POLL)
    assert running.projected == head


def test_stopping_projects_what_is_left(worker: tuple[ProjectionWorker, SqliteLog]) -> None:
    running, log = worker
    head = append_events(log, 200, 3)
    settle()
    assert running.projected == 0
    running.stop()
    assert log.projected("graph") == head  # the fixture's stop then finds nothing to do
