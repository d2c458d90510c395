"""Read-only snapshots of the embedded store for the query processes.

A snapshot is a RocksDB checkpoint (``Store.backup``): hard links to the immutable table
files plus a flush of what is still in memory, so it costs little besides the flush and is
consistent at one instant. A second process may open it read-only (pyoxigraph calls opening
the live store read-only while it is written undefined behaviour). Snapshots are made on
demand, only when the store was written since the last one, and removed once superseded and
no query uses them.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Snapshot:
    path: Path
    generation: int  # the store had seen at least this many writes when it was taken
    users: int = field(default=0)


class Snapshots:
    def __init__(self, directory: Path, backup: Callable[[Path], None],
                 writes: Callable[[], int]) -> None:
        self._dir = directory
        self._backup = backup
        self._writes = writes
        self._lock = threading.Lock()
        self._current: Snapshot | None = None
        self._taken = 0
        shutil.rmtree(directory, ignore_errors=True)  # left over by a crash: stale
        directory.mkdir(parents=True)

    def acquire(self) -> Snapshot:
        """A snapshot holding every write finished so far; give it back with release()."""
        with self._lock:
            seen = self._writes()
            if self._current is None or self._current.generation < seen:
                self._replace(seen)
            assert self._current is not None
            self._current.users += 1
            return self._current

    def release(self, snapshot: Snapshot) -> None:
        with self._lock:
            snapshot.users -= 1
            if snapshot is not self._current and snapshot.users == 0:
                shutil.rmtree(snapshot.path, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._current = None
            shutil.rmtree(self._dir, ignore_errors=True)

    def _replace(self, generation: int) -> None:
        self._taken += 1
        path = self._dir / str(self._taken)
        self._backup(path)
        old, self._current = self._current, Snapshot(path, generation)
        if old is not None and old.users == 0:
            shutil.rmtree(old.path, ignore_errors=True)
