"""A job's runs as the product-lineage index keeps them, compact.

There is one per run: a million at a million events when each event is a run of its own
(the ingest benchmark's load). As one :class:`RunFacts` per run, with its datetimes, tuple
and dict entry, a run took ~340 bytes of the core's memory; here ~150 (tracemalloc, 100,000
runs of two events; README "Memory under live load, again"): the run id as its 16 bytes
when it is a UUID in canonical form, times as microseconds in arrays, states as references
to interned strings. tests/test_job_runs.py checks the answers against one RunFacts per run
updated event by event.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from array import array
from collections.abc import Iterator

from dpgraph.product_lineage.model import TERMINAL_RANK, RunFacts

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_NONE = -(2**63)  # no terminal event yet


def _micros(time: dt.datetime) -> int:
    return (time - EPOCH) // _MICROSECOND  # an aware time: UTC, as the mapping gives


def _time(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def _packed(run_id: str) -> bytes | str:
    try:
        packed = uuid.UUID(run_id)
    except ValueError:
        return run_id
    return packed.bytes if str(packed) == run_id else run_id  # only if it reads back the same


def _unpacked(key: bytes | str) -> str:
    return str(uuid.UUID(bytes=key)) if isinstance(key, bytes) else key


class JobRuns:
    """The runs of one job: per run its first and latest event and its latest terminal one."""

    __slots__ = ("_at", "_first", "_last", "_last_type", "_terminal", "_terminal_type")

    def __init__(self) -> None:
        self._at: dict[bytes | str, int] = {}  # packed run id -> position in the arrays
        self._first = array("q")
        self._last = array("q")
        self._last_type: list[str] = []
        self._terminal = array("q")
        self._terminal_type: list[str | None] = []

    def __len__(self) -> int:
        return len(self._at)

    def note(self, run_id: str, time: dt.datetime, event_type: str) -> None:
        """One event of the run (``run_id`` lowercased, ``event_type`` uppercased)."""
        at, event_type = _micros(time), sys.intern(event_type)
        key = _packed(run_id)
        i = self._at.get(key)
        if i is None:
            i = self._at[key] = len(self._first)
            self._first.append(at)
            self._last.append(at)
            self._last_type.append(event_type)
            self._terminal.append(_NONE)
            self._terminal_type.append(None)
        elif at < self._first[i]:
            self._first[i] = at
        if at >= self._last[i]:
            self._last[i], self._last_type[i] = at, event_type
        rank = TERMINAL_RANK.get(event_type)
        if rank is not None:
            held = self._terminal_type[i]
            if held is None or (at, rank) > (self._terminal[i], TERMINAL_RANK[held]):
                self._terminal[i], self._terminal_type[i] = at, event_type

    def created(self) -> Iterator[tuple[dt.datetime, str]]:
        """(earliest event time, run id) of every run."""
        for key, i in self._at.items():
            yield _time(self._first[i]), _unpacked(key)

    def newest(self) -> list[str]:
        """The ids of the runs created last (their earliest event is the latest); only those
        are decoded."""
        if not self._at:
            return []
        newest = max(self._first)
        return [_unpacked(key) for key, i in self._at.items() if self._first[i] == newest]

    def last(self) -> RunFacts | None:
        """The run whose state was decided last: greatest (time, run id), as a new object.
        Run ids are decoded only to break a tie in time: decoding each (runs mostly come in
        time order, so each is the greatest so far) cost ~2 µs a run, 0.56 s at 300,000."""
        best_i, best_at = -1, 0
        best_key: bytes | str = ""
        best_id: str | None = None  # the best run's id, once a tie needed it
        for key, i in self._at.items():
            at = self._terminal[i] if self._terminal_type[i] is not None else self._last[i]
            if best_i < 0 or at > best_at:
                best_i, best_at, best_key, best_id = i, at, key, None
            elif at == best_at:
                if best_id is None:
                    best_id = _unpacked(best_key)
                run_id = _unpacked(key)
                if run_id > best_id:
                    best_i, best_key, best_id = i, key, run_id
        if best_i < 0:
            return None
        terminal_type = self._terminal_type[best_i]
        terminal = None if terminal_type is None else (
            _time(self._terminal[best_i]), TERMINAL_RANK[terminal_type], terminal_type)
        return RunFacts(best_id if best_id is not None else _unpacked(best_key),
                        _time(self._last[best_i]), self._last_type[best_i], terminal,
                        _time(self._first[best_i]))
