"""Marks the embedded engine's writes on disk, so that the next start knows when the process
died inside one, and where in the log.

A native engine can crash the whole process in a write (a segfault, not an exception Python
can catch). Kùzu 0.11.3 did, rebuilding the view of 10,000 products: its primary-key index
held keys its table did not, and the ``COPY`` of the next page of the log crashed the
process, on every start. The view is a projection of the log, so the remedy is to rebuild
it. But a process killed inside a write for another reason (SIGKILL, the kernel's OOM
killer, a deploy) leaves a sound database behind, and a rebuild at that scale takes about an
hour. So the engine's files are discarded only when the process died
``CRASHES_BEFORE_DISCARD`` times in a row writing the same page of the log (the view's
offset when the write began): a failure that repeats.

The marker is a file created before each write and removed after it, also when the write
raised: only a process that died leaves it behind. Not fsync'd: it records process deaths,
and a crash of the machine is the engine's WAL's business.

A write that failed in its commit (out of page cache, or another engine error) is not
trusted either: the corrupt 10,000-product database had run out of cache in its commit
twice before it crashed, and a commit that fails half-way may leave an index and its table
apart. ``distrust`` records it, and the next start discards the database at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

CRASHES_BEFORE_DISCARD = 2
log = logging.getLogger("dpgraph.cypher")


class WriteGuard:
    def __init__(self, directory: Path) -> None:
        self._marker = directory / "writing"
        self._record = directory / "crashed-writes"
        self._distrusted = directory / "distrusted"  # why the database is not trusted
        # Where the process last died inside a write, and how many times in a row there.
        self.position, self.crashes = self._read_record()
        died_at = _read(self._marker)
        if died_at is not None:
            self.crashes = self.crashes + 1 if died_at == self.position else 1
            self.position = died_at
            self._record.write_text(f"{self.position} {self.crashes}\n", encoding="utf-8")
            self._marker.unlink()
            log.warning("the process died inside a write to the Cypher view after log offset "
                        "%s (%d time(s) in a row there)", self.position, self.crashes)

    @property
    def poisoned(self) -> str | None:
        """Why the database is to be rebuilt, if it is: it has taken the process down often
        enough at one place in the log, or a commit of it failed."""
        if self.crashes >= CRASHES_BEFORE_DISCARD:
            return f"it took the process down in {self.crashes} writes in a row"
        return _read(self._distrusted)

    def distrust(self, reason: str) -> None:
        """The database may be inconsistent (``reason``): the next start discards it."""
        self._distrusted.write_text(reason, encoding="utf-8")

    def forget(self) -> None:
        """The database was discarded: nothing counts against the new one."""
        self.position, self.crashes = "", 0
        self._record.unlink(missing_ok=True)
        self._distrusted.unlink(missing_ok=True)

    @contextlib.contextmanager
    def writing(self, position: int) -> Iterator[None]:
        self._marker.write_text(str(position), encoding="utf-8")
        try:
            yield
        finally:
            self._marker.unlink(missing_ok=True)

    def _read_record(self) -> tuple[str, int]:
        position, _, crashes = (_read(self._record) or "").partition(" ")
        return position, int(crashes) if crashes.isdigit() else 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
