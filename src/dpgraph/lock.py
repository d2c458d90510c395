"""One writer process per data directory.

The service holds an exclusive ``flock`` on ``<data-dir>/dpgraph.lock`` for its lifetime; a
CLI command that opens the files itself takes the same lock and refuses clearly when a
service already holds it. The kernel releases the lock when the process dies, even on SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

from dpgraph.errors import StoreLocked


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "dpgraph.lock"
        self._fh: IO[str] | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock; ``wait`` seconds of retries allow a process that is dying (a
        killed service's core) to let go of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        while True:
            fh = self.path.open("a+", encoding="utf-8")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "unknown"
                fh.close()
                if time.monotonic() >= deadline:
                    raise StoreLocked(
                        f"data directory {self.path.parent} is in use by another dpgraph "
                        f"process (pid {holder}); stop the service first, or talk to it "
                        "over HTTP") from None
                time.sleep(0.1)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def fileno(self) -> int:
        assert self._fh is not None, "not held"
        return self._fh.fileno()


class InheritedLock(DataDirLock):
    """The lock as the core process of `dpgraph serve` has it: its parent took it and passed
    the descriptor down, which keeps it held while either process lives (so a new service
    cannot start beside a core that outlived its parent); taking and releasing it are the
    parent's business."""

    def acquire(self, wait: float = 0.0) -> None:
        """Held by the parent."""

    def release(self) -> None:
        """Released by the parent."""
