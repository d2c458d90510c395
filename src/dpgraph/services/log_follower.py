"""The common part of the in-memory projections of the log: records applied in order and
once each, by log offset, under one lock. ``LogFollower`` applies each record under the lock
(join index, product lineage, column flow); ``EventFactsFollower`` reads lineage events
outside it and adds what it read under it (lineage index, column lineage index)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from pyoxigraph import Quad

from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.projector import LINEAGE_EVENT

Facts = TypeVar("Facts")


class _InLogOrder:
    """A lock, and the offset of the last log record applied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        """Forget everything (subclasses extend it with their own state)."""
        self._offset = 0

    def clear(self) -> None:
        with self._lock:
            self._reset()


class LogFollower(_InLogOrder):
    def apply(self, records: Iterable[LogRecord]) -> None:
        """Apply log records in order; records already applied (by offset) are skipped."""
        self.apply_mapped(records, {})

    def apply_mapped(self, records: Iterable[LogRecord], mapped: Mapping[int, list[Quad]]
                     ) -> None:
        """As ``apply``, given the event quads the projector has just stored, by log offset
        (a follower that reads the mapping then need not map an event again)."""
        with self._lock:
            for r in records:
                if r.offset <= self._offset:
                    continue
                self._offset = r.offset
                quads = mapped.get(r.offset)
                try:
                    changed = self._apply(r) if quads is None else self._apply_quads(r, quads)
                except (KeyError, TypeError, AttributeError, ValueError):
                    continue  # not projectable; the graph projection skips it as well
                if changed:
                    self._invalidate()

    def _apply(self, r: LogRecord) -> bool:
        """Apply one record (lock held); True when what readers derive from it is stale."""
        raise NotImplementedError

    def _apply_quads(self, r: LogRecord, quads: list[Quad]) -> bool:
        """Apply one lineage event whose quads are known; by default they are not used."""
        return self._apply(r)

    def _invalidate(self) -> None:
        """Drop what readers derive from the state (lock held); nothing by default."""


class EventFactsFollower(_InLogOrder, Generic[Facts]):
    """An in-memory projection of lineage events that reads each event's facts outside its
    lock, so that readers go on while a batch is read, and adds them under it: in log order
    and once each, by log offset (an index of every event's digest held ~180 MB at 1M
    events)."""

    def _feed(self, records: Iterable[LogRecord]) -> None:
        with self._lock:
            todo = [r for r in records if r.offset > self._offset]
        facts: list[tuple[int, Facts]] = []
        for r in todo:
            if r.kind != LINEAGE_EVENT:
                continue
            try:
                facts.append((r.offset, self._facts_of(r)))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # the mapping refuses it too; the receiver never stores such events
        with self._lock:
            for offset, f in facts:
                if offset > self._offset:  # a concurrent feed may have added it meanwhile
                    self._add(f)
            if todo:
                self._offset = max(self._offset, todo[-1].offset)

    def _facts_of(self, record: LogRecord) -> Facts:
        """What the index keeps of one lineage event (no lock held; raises if unreadable)."""
        raise NotImplementedError

    def _add(self, facts: Facts) -> None:
        """Add one event's facts (lock held)."""
        raise NotImplementedError
