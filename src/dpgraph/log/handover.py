"""Log records handed from the thread that has them to a follower that would otherwise read
them back from the log and parse their JSON again (the receiver to the projection worker,
the projection to the Cypher view).

Bounded: past ``limit`` records waiting, offers are dropped and the follower reads those
records from the log, as it does for any it was not handed. Not thread-safe on its own: the
follower guards it with the lock that guards its offset.
"""

from __future__ import annotations

from collections.abc import Iterable

from dpgraph.log.sqlite_log import LogRecord


class Handover:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._waiting: dict[int, LogRecord] = {}

    def offer(self, records: Iterable[LogRecord], after: int) -> None:
        """Keep the records beyond ``after`` (the follower's offset), up to the limit."""
        for r in records:
            if r.offset > after and len(self._waiting) < self._limit:
                self._waiting[r.offset] = r

    def take(self, after: int, limit: int) -> list[LogRecord]:
        """Up to ``limit`` records that follow ``after`` without a gap; forgets those at or
        before it. Empty when the next record was not handed over: read the log."""
        for stale in [o for o in self._waiting if o <= after]:
            del self._waiting[stale]
        out: list[LogRecord] = []
        offset = after + 1
        while len(out) < limit and offset in self._waiting:
            out.append(self._waiting.pop(offset))
            offset += 1
        return out
