"""What a child process of the service does first: die with its parent, and yield the CPU
to the ingest front."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Be killed when the parent dies, however it dies (Linux; elsewhere the inherited lock
    still keeps a second service from starting beside an orphaned child). The signal comes
    when the parent's *thread* that started this process ends: start children from a thread
    that lives as long as they should."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request above
        os._exit(1)


# Producers wait for acknowledgements; the projections (the graph in the core, the Cypher
# view in its process) may lag and catch up after a burst. At the same priority the core and
# the view took the CPU the front needed: with both at this niceness, 32 producers got
# 1,680 -> 2,479 acknowledged events/s (p99 83 -> 48 ms) and the projection's end-to-end
# rate stayed where it was (681 -> 648 events/s, within the runs' spread) (bench/ingest.py).
# Without competition (no ingest burst) niceness changes nothing: reads are not slowed.
BACKGROUND_NICENESS = 10


def yield_to_front() -> None:
    """Run this process's threads, and those it starts from now on (RocksDB's, the view's
    process), at :data:`BACKGROUND_NICENESS`. Absolute, not an increment: the view's process
    is started by the core and must not end up below it."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, BACKGROUND_NICENESS)
