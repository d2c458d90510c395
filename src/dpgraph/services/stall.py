"""What a background projection reports when it cannot advance, and how long it waits.

The graph and the Cypher view follow the log in threads of their own. A failure there is not
a request's: the log has the records, nothing is lost, and the projection tries again. But a
failure that repeats (the engine's page cache too small, the disk full) must not go unseen
nor flood the log with a traceback a second: the waits double up to a minute, and
``/health`` shows the failing projection, where it stopped, since when and why.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dpgraph.errors import ProjectionStalled, StoreUnavailable

FIRST_WAIT = 1.0
MAX_WAIT = 60.0
MAX_MESSAGE = 500  # characters of the error kept for /health


@dataclass(frozen=True)
class Stalled:
    after: int  # the projection's offset: the record after it is the one failing
    error: str
    since: str  # ISO time of the first failure in a row
    attempts: int
    retry_in: float  # seconds until the next attempt

    def as_json(self) -> dict[str, Any]:
        return {"after": self.after, "error": self.error, "since": self.since,
                "attempts": self.attempts, "retryInSeconds": self.retry_in}


class StallWatch:
    """The stall of one projection (``what``: how messages name it)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._stalled: Stalled | None = None

    @property
    def stalled(self) -> Stalled | None:
        with self._lock:
            return self._stalled

    def failed(self, after: int, exc: BaseException) -> Stalled:
        """Record a failure at ``after``; ``retry_in`` says how long to wait."""
        message = f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]
        with self._lock:
            previous = self._stalled
            if previous is None or previous.after != after:  # a new place to be stuck at
                since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                attempts, wait = 1, FIRST_WAIT
            else:
                since, attempts = previous.since, previous.attempts + 1
                wait = min(MAX_WAIT, previous.retry_in * 2)
            self._stalled = Stalled(after, message, since, attempts, wait)
            return self._stalled

    def advanced(self) -> None:
        with self._lock:
            self._stalled = None

    def report(self, log: logging.Logger, after: int, exc: BaseException) -> float:
        """Record and log a failure (the traceback the first time at a place, one line
        after); returns the wait before the next attempt."""
        stalled = self.failed(after, exc)
        if stalled.attempts == 1:
            log.exception("%s failed after offset %d; retrying in %.0f s", self.what, after,
                          stalled.retry_in)
        else:
            log.error("%s still fails after offset %d (%s); retrying in %.0f s", self.what,
                      after, stalled.error, stalled.retry_in)
        return stalled.retry_in

    def wait(self, cond: threading.Condition, position: Callable[[], int], offset: int,
             timeout: float) -> None:
        """With ``cond`` held (the projection notifies it as it advances or fails): wait
        until ``position()`` reaches ``offset``; raise at once if the projection is stuck,
        or at the timeout."""
        if not cond.wait_for(lambda: position() >= offset or self.stalled is not None,
                             timeout=timeout) or position() < offset:
            raise unavailable(self.what, position(), offset, self.stalled)


def unavailable(what: str, at: int, wanted: int, stalled: Stalled | None) -> StoreUnavailable:
    """The error for a reader that waited for ``wanted`` and saw the projection at ``at``."""
    if stalled is not None:
        return ProjectionStalled(f"{what} cannot advance past log offset {stalled.after} "
                                 f"(failing since {stalled.since}); /health shows why")
    return StoreUnavailable(f"{what} is behind the log (at {at}, waiting for {wanted}); "
                            "retry shortly")
