"""The ``cypher`` projection: the property-graph view kept in step with the log.

It follows the log in a thread of its own (``start``), behind the RDF projection but never
slowing it: writing relationships into the embedded engine is far slower than into the RDF
store, and lineage ingestion must not wait for it. It keeps its own offset in the log
(``cypher``), so it resumes on its own after a crash; queries wait until it has reached the
log head (``wait_for``), which also wakes the thread. Re-applying is harmless, every change
being idempotent. After each batch the relink step (dpgraph.cypher.relink) draws the links
between what the batch touched and the rest of the graph.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from dpgraph.cypher.base import CypherBackend, Row
from dpgraph.cypher.errors import ViewOutOfMemory
from dpgraph.cypher.mapping import bootstrap_changes, derives, record_changes, touched
from dpgraph.cypher.model import Change
from dpgraph.cypher.relink import FLOWS_TO, relink
from dpgraph.log.handover import Handover
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.services.stall import Stalled, StallWatch

NAME = "cypher"
# Records the RDF projection has offered, waiting for the view; past this many (the view far
# behind) further offers are dropped, and the view reads those records from the log.
MAX_OFFERED = 10_000
READ_WAIT_SECONDS = 30.0  # how long a read waits for the view to reach the log head
log = logging.getLogger("dpgraph.cypher")


def too_large_marker(name: str) -> str:
    return f"{name}:too-large"


def forget_too_large_record(event_log: SqliteLog, name: str = NAME) -> None:
    """Let the view try again a record that alone did not fit its page cache (at a start,
    where the setting may have been raised)."""
    event_log.set_projected(too_large_marker(name), 0)


class CypherView:
    def __init__(self, backend: CypherBackend, event_log: SqliteLog, name: str = NAME) -> None:
        self.backend = backend
        self._log = event_log
        self._name = name  # the offset's name in the log
        self._cond = threading.Condition()
        self._apply = threading.Lock()
        self._offset = event_log.projected(name)
        if backend.fresh and self._offset:
            log.warning("the Cypher view's database is new: rebuilt from the log (was at "
                        "offset %d)", self._offset)
            event_log.set_projected(name, 0)
            self._offset = 0
        self._offered = Handover(MAX_OFFERED)
        self._wake: threading.Event | None = None
        self._stopping: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self.stall = StallWatch("the Cypher view")  # why it cannot advance, for /health
        self._fit = MAX_OFFERED  # most records per transaction the page cache has held
        # The offset of a record that alone ran out of page cache: the view is rebuilt up to
        # it once and stops there (stalled), rather than rebuilding the whole log again on
        # every retry. Kept in the log, so that the view's process started again past its
        # memory bound stops there too; a service start or a rebuild forgets it (a larger
        # page cache needs a restart).
        self._too_large: int | None = event_log.projected(too_large_marker(name)) or None

    @property
    def offset(self) -> int:
        with self._cond:
            return self._offset

    def start(self, idle_poll: float = 0.2) -> None:
        """Follow the log in a background thread until ``close``."""
        self._stopping = threading.Event()
        self._wake = threading.Event()

        def follow() -> None:
            while not self._stopping.is_set():
                try:
                    caught_up = self.catch_up() == 0
                except Exception as exc:
                    wait = self.stall.report(log, self.offset, exc)
                    with self._cond:
                        self._cond.notify_all()  # waiting readers fail now, not at timeout
                    self._stopping.wait(wait)
                    continue
                if caught_up:
                    self._wake.wait(idle_poll)
                    self._wake.clear()

        self._thread = threading.Thread(target=follow, name="dpgraph-cypher-view", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def offer(self, records: Sequence[LogRecord]) -> None:
        """Records the RDF projection has just applied: the view takes them from here
        instead of reading them back from the log and parsing them again. Cheap, so the
        projection is not slowed; the view's thread does the work."""
        with self._cond:
            self._offered.offer(records, after=self._offset)
        self.notify()

    def _offered_page(self, page: int) -> list[LogRecord]:
        with self._cond:
            return self._offered.take(after=self._offset, limit=page)

    def bootstrap(self) -> None:
        self.backend.position = self.offset
        self.backend.apply(bootstrap_changes())
        # Global links drawn from the graph as it stands: a view projected before them (an
        # older version) gains them here; on a complete view it finds nothing to draw.
        self.backend.link(FLOWS_TO)

    def apply_batch(self, records: Sequence[LogRecord]) -> int:
        """Apply the records beyond the view's offset; a gap before them (the view lagging
        the graph after a crash) is read from the log first. Returns how many were applied:
        none when the page cache ran out and the view started over (see _project_fitting)."""
        with self._apply:
            pending = [r for r in records if r.offset > self._offset]
            if not pending:
                return 0
            if pending[0].offset > self._offset + 1:
                last = pending[-1].offset
                pending = [r for r in self._log.read(after=self._offset,
                                                     limit=last - self._offset)
                           if r.offset <= last]
            if self._too_large is not None:
                pending = [r for r in pending if r.offset < self._too_large]
                if not pending:
                    raise self._too_large_error()
            try:
                fitted = self._project_fitting(pending)
            except ViewOutOfMemory:
                self._start_over()
                raise
            if not fitted:
                self._start_over()
                return 0
            self._log.set_projected(self._name, pending[-1].offset)
            # Cleared before the offset is published: /health must not show the view caught
            # up and still stalled (a reader of both saw that under load).
            self.stall.advanced()
            with self._cond:
                self._offset = pending[-1].offset
                self._cond.notify_all()
            return len(pending)

    def _project_fitting(self, records: Sequence[LogRecord]) -> bool:
        """Project the records in transactions the engine's page cache can hold: pages are
        cut to the backend's change budget (a failed COMMIT stops the view, so it must not
        be reached by trying). A transaction that still runs out of cache in its statements
        leaves the embedded engine's database wrong (EmbeddedCypher.clear): False, and the
        view starts over from the log in pages of half as many records, which later pages
        keep. A single record too large for the cache raises: the view is stalled on it
        (see /health)."""
        budget = self.backend.changes_per_transaction
        chunk: list[tuple[int, list[Change]]] = []
        size = 0
        for record in records:
            changes = self._changes_of(record)
            if chunk and (len(chunk) >= self._fit
                          or (budget is not None and size + len(changes) > budget)):
                if not self._write_fitting(chunk):
                    return False
                chunk, size = [], 0
            chunk.append((record.offset, changes))
            size += len(changes)
        return not chunk or self._write_fitting(chunk)

    def _write_fitting(self, chunk: list[tuple[int, list[Change]]]) -> bool:
        try:
            self._write([c for _, changes in chunk for c in changes])
        except ViewOutOfMemory as exc:
            if len(chunk) == 1:
                self._too_large = chunk[0][0]
                self._log.set_projected(too_large_marker(self._name), self._too_large)
                raise self._too_large_error() from exc
            self._fit = len(chunk) // 2
            log.warning("the Cypher view starts over from the log, writing at most %d records "
                        "per transaction (DPGRAPH_CYPHER_BUFFER_POOL_MB is tight)", self._fit)
            return False
        return True

    def _too_large_error(self) -> ViewOutOfMemory:
        return ViewOutOfMemory(
            f"log record {self._too_large} alone does not fit the Cypher view's page cache: "
            "the view holds the log up to the record before it; raise "
            "DPGRAPH_CYPHER_BUFFER_POOL_MB and restart the service")

    def project(self, records: Sequence[LogRecord]) -> None:
        """Map records to changes, apply them, relink what they touched (no bookkeeping:
        doing it again lands in the same state)."""
        self._write([c for r in records for c in self._changes_of(r)])

    @staticmethod
    def _changes_of(record: LogRecord) -> list[Change]:
        try:
            return record_changes(record)
        except ValueError:  # nothing the receiver would have stored; skip, as RDF does
            log.warning("record %d cannot be projected to the Cypher view", record.offset)
            return []

    def _write(self, changes: list[Change]) -> None:
        if changes:
            self.backend.position = self._offset  # the same page after a restart
            self.backend.apply(changes)
            datasets, products = touched(changes)
            self.backend.link(relink(datasets, products, derives(changes)))

    def catch_up(self, page: int = 5000) -> int:
        """Apply what the log holds beyond the view's offset; returns how many records.
        Stops early once ``close`` was called (what is left waits for the next start)."""
        n = 0
        while self._stopping is None or not self._stopping.is_set():
            batch = self._offered_page(page) or list(
                self._log.read(after=self.offset, limit=page))
            if not batch:
                return n
            n += self.apply_batch(batch)
        return n

    def rebuild(self) -> None:
        """Empty the view and its offset; the projector's catch-up then refills it."""
        with self._apply:
            forget_too_large_record(self._log, self._name)
            self._too_large = None
            self._start_over()

    def _start_over(self) -> None:
        self._log.set_projected(self._name, 0)  # first: a crash after it still rebuilds
        with self._cond:
            self._offset = 0
        self.backend.clear()
        self.bootstrap()

    @property
    def stalled(self) -> Stalled | None:
        return self.stall.stalled

    def read(self, cypher: str, params: Mapping[str, Any], *, timeout: float,
             after: int) -> list[Row]:
        """Rows of a read query, once the view holds the log up to ``after``."""
        self.wait_for(after, timeout=READ_WAIT_SECONDS)
        return self.backend.query(cypher, params, timeout=timeout)

    def wait_for(self, offset: int, timeout: float = 30.0) -> None:
        if self.offset < offset:
            self.notify()
        with self._cond:
            self.stall.wait(self._cond, lambda: self._offset, offset, timeout)

    def close(self) -> None:
        if self._thread is not None and self._stopping is not None:
            self._stopping.set()
            self.notify()
            self._thread.join()
        self.backend.close()
