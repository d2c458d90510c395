"""Hands the C allocator's free pages back to the operating system.

Native code in the service frees much memory that glibc keeps in its arenas for reuse
(RocksDB's memtables once flushed and its bulk-load buffers, the Cypher engine's query
state, the parsed records of a batch), so a process's resident size stays near its peak.
``malloc_trim`` returns those pages; nothing else does it (Python's own allocator only
returns whole arenas of its own). Measured (`bench/ingest.py --seconds 60 --connections 32
--delay-ms 20`, 2026-11-26): the core held 525 MiB after 63,770 events, 398 MiB with a trim
after each projected batch; a trim took 28 ms at the median and 82 ms at most.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable

GIVE_BACK_EVERY_SECONDS = 10.0


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to give back
        return None


_MALLOC_TRIM = _load_malloc_trim()


def give_back_free_memory() -> bool:
    """Return the allocator's free pages to the system; False where that is not possible."""
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)  # ctypes releases the GIL for the call: other threads go on
    return True


class PeriodicGiveBack:
    """Gives free memory back after work, at most once every ``every_seconds``: a trim walks
    every arena (tens of ms on a heap of hundreds of MiB), while a batch of work frees its
    memory every time."""

    def __init__(self, every_seconds: float = GIVE_BACK_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 give_back: Callable[[], bool] = give_back_free_memory) -> None:
        self._every = every_seconds
        self._clock = clock
        self._give_back = give_back
        self._last: float | None = None

    def after_work(self) -> bool:
        """Called after each piece of work; True when it gave memory back this time."""
        now = self._clock()
        if self._last is not None and now - self._last < self._every:
            return False
        self._last = now
        return self._give_back()
