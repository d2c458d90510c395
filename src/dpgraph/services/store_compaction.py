"""Compacts the graph store in the background once much has been projected since the last time.

The projection writes large batches through RocksDB's bulk path, which ingests new sorted
files whose key ranges overlap the ones already there; RocksDB's own compaction merges them
only gradually, and until then every lookup probes each of them. On the benchmark's mesh a
full compaction (``GraphStore.optimize``) made the named SPARQL queries about three times
faster (README, "Performance"): 18 s for 52,000 events' graph, 150 s for 262,000.

It runs in a thread (pyoxigraph releases the GIL; reads and writes go on meanwhile) when
the records projected since the offset the last compaction covered (the log keeps it,
``STORE_COMPACTED``; a rebuilt graph starts from 0) are at least ``after_records`` and at
least as many as that offset. Each compaction rewrites the whole store, so compacting every
fixed number of records would cost in all the square of the store's size; doubling keeps the
total within twice the cost of compacting the final store once. It is armed only once the
start-up catch-up is over, so that a large catch-up is compacted once, at its end, rather
than while it still writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.services.projector import PROJECTION, STORE_COMPACTED
from dpgraph.store.base import GraphStore

logger = logging.getLogger(__name__)


class StoreCompaction:
    """A projector follower that starts a compaction when one is due."""

    def __init__(self, store: GraphStore, log: SqliteLog, after_records: int) -> None:
        self._store = store
        self._log = log
        self._after = after_records
        self._armed = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def arm(self) -> None:
        """From now on compact when due, starting with now."""
        self._armed = True
        self._start_if_due(self._log.projected(PROJECTION))

    def apply(self, records: Sequence[LogRecord]) -> None:
        if records and self._armed:
            self._start_if_due(records[-1].offset)

    def clear(self) -> None:
        """Nothing held here: Projector.rebuild resets the compacted offset itself, also
        for `dpgraph replay`, which runs without this follower."""

    def wait(self) -> None:
        """Until the running compaction, if any, ends (before the store closes)."""
        thread = self._thread
        if thread is not None:
            thread.join()

    def due(self, projected: int) -> bool:
        compacted = self._log.projected(STORE_COMPACTED)
        return self._after > 0 and projected - compacted >= max(self._after, compacted)

    def _start_if_due(self, projected: int) -> None:
        if not self.due(projected):
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._compact, args=(projected,),
                                            name="store-compaction", daemon=True)
            self._thread.start()

    def _compact(self, projected: int) -> None:
        started = time.perf_counter()
        try:
            self._store.optimize()
        except Exception:  # a failed compaction leaves the store as it was: try again later
            logger.exception("compacting the graph store failed")
            return
        self._log.set_projected(STORE_COMPACTED, projected)
        logger.info("graph store compacted up to log offset %d in %.1f s", projected,
                    time.perf_counter() - started)
