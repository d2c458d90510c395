"""One writer process per data directory.

The service holds an exclusive ``flock`` on ``<data-dir>/dpgraph.lock`` for its lifetime; a
CLI command that opens the files itself takes the same lock and refuses clearly when a
service already holds it. The kernel releases the lock when the process dies, even on SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from dpgraph.errors import StoreLocked


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "dpgraph.lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise StoreLocked(
                f"data directory {self.path.parent} is in use by another dpgraph process "
                f"(pid {holder}); stop the service first, or talk to it over HTTP") from None
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
