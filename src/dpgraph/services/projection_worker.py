"""Runs the projection behind the log, in one background thread.

A write is acknowledged once its log record is committed; the worker then projects it into
the graph. Readers that must see every acknowledged write (and validation, whose context
comes from the graph) call ``wait_for(offset)``, which returns as soon as the projection has
reached that offset: read-your-writes without making the writer wait for the graph.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from pyoxigraph import Triple

from dpgraph.log.handover import Handover
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.memory import PeriodicGiveBack
from dpgraph.services.projector import PROJECTION, Projector
from dpgraph.services.stall import StallWatch

log = logging.getLogger("dpgraph.projection")
# The most records projected in one batch. RocksDB's background work on what a bulk write
# ingests shrinks per event as batches grow: `bench/ingest.py --seconds 30 --connections
# 32`, two runs each (2026-11-26): 500 -> 2,000 took the core's CPU per acknowledged event
# from 1.80 to 1.51-1.53 ms and the projection from 722-733 to 874-875 events/s end to
# end, for 100-150 MiB more of the core's RSS. A reader waiting for its write waits at
# most one batch longer (~3 s behind a full backlog).
BATCH = 2000
# Writing a batch costs the graph store much less per event when the batch is large
# (oxigraph's bulk path: ~0.6 ms of CPU per corpus event from 300 events, ~1.7 ms per event
# through a transaction, whatever its size), so under a steady stream the worker waits up to
# LINGER_SECONDS for LINGER_RECORDS records before projecting, unless a reader waits for
# the graph (read-your-writes stays immediate) or the service stops. Per-batch costs of the
# followers shrink alike. Measured (`bench/ingest.py --connections 8 --delay-ms 20`, ~290
# events/s offered): the core's CPU per event 3.04 -> 2.48 ms; at ~560/s batches were full
# already and it is unchanged.
LINGER_RECORDS = 300
LINGER_SECONDS = 1.0
# Records handed over by writers, waiting to be projected; past this many (the projection
# far behind) new ones are not kept, and the worker reads them back from the log.
MAX_HANDED = 5000


class ProjectionWorker:
    def __init__(self, projector: Projector, event_log: SqliteLog, *,
                 wait_timeout: float = 30.0, poll_seconds: float | None = None) -> None:
        self._projector = projector
        self._log = event_log
        self._wait_timeout = wait_timeout
        # With another process appending to the log (the ingest front of `dpgraph serve`),
        # nobody submits its records here: the worker looks at the log head this often.
        self._poll = poll_seconds
        self._cond = threading.Condition()
        self._projected = event_log.projected(PROJECTION)
        self._wanted = self._projected
        self._readers_waiting = 0
        self._prepared: dict[int, list[Triple]] = {}
        self._handed = Handover(MAX_HANDED)
        self._stopping = False
        self.stall = StallWatch("the graph projection")  # why it cannot advance
        self._memory = PeriodicGiveBack()  # what a batch freed, back to the system
        self._thread = threading.Thread(target=self._run, name="dpgraph-projection",
                                        daemon=True)

    @property
    def projected(self) -> int:
        with self._cond:
            return self._projected

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish what was acknowledged, then stop."""
        if self._poll is not None:
            self.submit(self._log.head())  # including what another process appended
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    def submit(self, offset: int, prepared: list[Triple] | None = None,
               records: Sequence[LogRecord] = ()) -> None:
        """Ask for the log up to ``offset`` to be projected; ``prepared`` is the graph of a
        registration already mapped for validation, so it is not mapped twice; ``records``
        are log records just committed, so they are not read back and parsed again."""
        with self._cond:
            if prepared is not None:
                self._prepared[offset] = prepared
            self._handed.offer(records, after=self._projected)
            self._wanted = max(self._wanted, offset)
            self._cond.notify_all()

    def wait_for(self, offset: int) -> None:
        with self._cond:
            if offset <= self._projected:
                return
            self._readers_waiting += 1
            self._cond.notify_all()  # a lingering worker projects now
            try:
                self.stall.wait(self._cond, lambda: self._projected, offset,
                                self._wait_timeout)
            finally:
                self._readers_waiting -= 1

    def wait_for_log(self) -> None:
        """Wait until the graph holds everything the log held when called."""
        head = self._log.head()
        if self._poll is not None:
            self.submit(head)  # records another process appended: no need to wait for a poll
        self.wait_for(head)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping or self._wanted > self._projected,
                                    timeout=self._poll)
                if self._stopping and self._wanted <= self._projected:
                    return  # nothing left to project
            if self._poll is not None:
                self._look_at_log_head()
                with self._cond:
                    if self._wanted <= self._projected:
                        continue
            self._linger()
            try:
                self._project_pending()
            except Exception as exc:
                wait = self.stall.report(log, self.projected, exc)
                with self._cond:
                    self._cond.notify_all()  # waiting readers fail now, not at timeout
                    if self._cond.wait_for(lambda: self._stopping, timeout=wait):
                        return

    def _look_at_log_head(self) -> None:
        head = self._log.head()
        with self._cond:
            self._wanted = max(self._wanted, head)

    def _linger(self) -> None:
        """Wait a little for more records when few are pending (see LINGER_SECONDS)."""
        deadline = time.monotonic() + LINGER_SECONDS
        while True:
            with self._cond:
                if (self._wanted - self._projected >= LINGER_RECORDS or self._stopping
                        or self._readers_waiting or self._prepared):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(timeout=min(left, self._poll or left))
            if self._poll is not None:
                self._look_at_log_head()

    def _project_pending(self) -> None:
        """Project what the log holds beyond the graph, a page of records at a time."""
        while True:
            batch = self._handed_batch() or list(
                self._log.read(after=self.projected, limit=BATCH))
            if not batch:
                return
            with self._cond:
                prepared = {r.offset: self._prepared.pop(r.offset) for r in batch
                            if r.offset in self._prepared}
            self._projector.apply_batch(batch, prepared)
            self.stall.advanced()
            with self._cond:
                self._projected = batch[-1].offset
                self._cond.notify_all()
            self._memory.after_work()

    def _handed_batch(self) -> list[LogRecord]:
        with self._cond:
            return self._handed.take(after=self._projected, limit=BATCH)
