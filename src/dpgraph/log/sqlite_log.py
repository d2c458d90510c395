"""The durable write log: every write is appended here first; the graph is its projection.

SQLite in WAL mode with ``synchronous=FULL``: a record is on disk when ``append`` returns,
so a write is acknowledged only after its commit. Offsets are never reused (AUTOINCREMENT),
which lets the projector resume exactly where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpgraph import jsontext
from dpgraph.errors import StoreUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    offset      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    digest      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    event_time  TEXT,
    unique_key  TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS log_key ON log (key, kind, offset);
CREATE INDEX IF NOT EXISTS log_event_time ON log (kind, event_time, offset);
CREATE TABLE IF NOT EXISTS projection (
    name   TEXT PRIMARY KEY,
    offset INTEGER NOT NULL
);
"""


WAL_CHECKPOINT_PAGES = 10_000

_SELECT = "SELECT offset, kind, key, recorded_at, digest, payload FROM log"


@dataclass(frozen=True)
class LogRecord:
    offset: int
    kind: str
    key: str
    recorded_at: str
    digest: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class NewRecord:
    kind: str
    key: str
    payload: dict[str, Any]
    # Records with unique=True are stored once per (kind, digest): a client's retry of the
    # same event gets the first copy back. ``digest`` overrides the payload's own digest.
    unique: bool = False
    digest: str | None = None
    event_time: str | None = None
    text: str | None = None  # canonical_json(payload), when the caller already has it


@dataclass(frozen=True)
class Appended:
    record: LogRecord
    duplicate: bool


def canonical_json(payload: Any) -> str:
    return jsontext.canonical(payload)


def digest_of(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class SqliteLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        # Checkpoint the WAL every ~40 MB instead of SQLite's 1,000 pages (4 MB): a
        # checkpoint runs inside the commit that crosses the threshold, under the writers'
        # lock, and the log's random-keyed indexes dirty the same pages again between
        # checkpoints, so fewer, larger checkpoints write less. Acknowledgements under load
        # went 2,612-2,685 -> 3,033-3,138 events/s (bench/ingest.py, 32 producers); every
        # commit is still fsync'd (synchronous=FULL), so durability is unchanged.
        self._db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self._db.executescript(_SCHEMA)
        # Writers in several processes (the service's ingest workers) queue on this file's
        # lock before SQLite's: SQLite's busy handler polls with sleeps of up to 100 ms,
        # which held two committing processes to fewer acknowledgements than one (p99
        # 400 ms), where a blocking lock wakes the next writer as the first commits, and
        # its batch has grown meanwhile (a group commit across processes).
        self._writers = (path.parent / f"{path.name}.writers").open("ab")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        with self._lock:
            fcntl.flock(self._writers, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._writers, fcntl.LOCK_UN)

    def append(self, records: list[NewRecord]) -> list[LogRecord]:
        """Append records in one transaction; returns them once committed to disk."""
        return [a.record for a in self.append_all(records)]

    def append_all(self, records: list[NewRecord]) -> list[Appended]:
        """Append in one transaction (one fsync); unique records already stored come back
        as duplicates with their first offset."""
        at = _now()
        out: list[Appended] = []
        with self._writing():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = [self._insert(r, at) for r in records]
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def _insert(self, r: NewRecord, at: str) -> Appended:
        text = r.text if r.text is not None else canonical_json(r.payload)
        digest = r.digest or hashlib.sha256(text.encode("utf-8")).hexdigest()
        unique_key = f"{r.kind}:{digest}" if r.unique else None
        cur = self._db.execute(
            "INSERT INTO log (kind, key, recorded_at, digest, payload, event_time, unique_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unique_key) DO NOTHING",
            (r.kind, r.key, at, digest, text, r.event_time, unique_key),
        )
        if cur.rowcount == 1:
            return Appended(
                LogRecord(int(cur.lastrowid or 0), r.kind, r.key, at, digest, r.payload),
                duplicate=False,
            )
        row = self._db.execute(_SELECT + " WHERE unique_key = ?", (unique_key,)).fetchone()
        o, k, key, rec_at, d, p = row
        return Appended(LogRecord(o, k, key, rec_at, d, jsontext.loads(p)), duplicate=True)

    def read(self, after: int = 0, limit: int | None = None) -> Iterator[LogRecord]:
        """Records with offset > after, in order; reads in pages so memory stays flat."""
        page = 1000 if limit is None else min(limit, 1000)
        remaining = limit
        while remaining is None or remaining > 0:
            rows = self._query(
                _SELECT + " WHERE offset > ? ORDER BY offset LIMIT ?",
                (after, page if remaining is None else min(page, remaining)),
            )
            if not rows:
                return
            yield from rows
            after = rows[-1].offset
            if remaining is not None:
                remaining -= len(rows)

    def history(self, kind_prefix: str, key: str) -> list[LogRecord]:
        """Records of one key whose kind starts with ``kind_prefix``, oldest first."""
        # A range on kind (not LIKE, which SQLite cannot serve from the index here).
        return self._query(
            _SELECT + " WHERE key = ? AND kind >= ? AND kind < ? ORDER BY offset",
            (key, kind_prefix, kind_prefix + "\U0010ffff"),
        )

    def by_time(
        self,
        kind: str,
        *,
        after: str | None,
        before: str | None,
        limit: int,
        skip: int,
        descending: bool,
    ) -> tuple[list[LogRecord], int]:
        """Records of one kind by event time (then offset), with the total count."""
        where = "kind = ? AND event_time >= ? AND event_time <= ?"
        args: tuple[Any, ...] = (kind, after or "", before or "\U0010ffff")
        order = "DESC" if descending else "ASC"
        rows = self._query(
            _SELECT + f" WHERE {where}"
            f" ORDER BY event_time {order}, offset {order} LIMIT ? OFFSET ?",
            (*args, limit, skip),
        )
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM log WHERE {where}", args)
            count = int(total.fetchone()[0])
        return rows, count

    def latest(self, kind_prefix: str, key: str) -> LogRecord | None:
        """The newest record of one key whose kind starts with ``kind_prefix``."""
        rows = self._query(
            _SELECT + " WHERE key = ? AND kind >= ? AND kind < ? ORDER BY offset DESC LIMIT 1",
            (key, kind_prefix, kind_prefix + "\U0010ffff"),
        )
        return rows[0] if rows else None

    def get(self, offset: int) -> LogRecord | None:
        rows = self._query(_SELECT + " WHERE offset = ?", (offset,))
        return rows[0] if rows else None

    def head(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(offset) FROM log").fetchone()
        return int(row[0] or 0)

    def projected(self, name: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT offset FROM projection WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def set_projected(self, name: str, offset: int) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO projection (name, offset) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET offset = excluded.offset",
                (name, offset),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._writers.close()

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[LogRecord]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [LogRecord(o, k, key, at, d, jsontext.loads(p)) for o, k, key, at, d, p in rows]


class GroupCommit:
    """Lets concurrent writers share one transaction and one fsync.

    Writers queue their records; one commit thread commits everything queued so far in one
    transaction and hands each writer its result. Under load every commit carries many
    requests; alone, a writer's records are committed at once (no timer). ``append`` blocks
    the calling thread; ``append_async`` lets an event loop go on serving while it waits.
    A failed commit rolls back and every writer in it gets the error.
    """

    def __init__(self, log: SqliteLog) -> None:
        self._log = log
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="dpgraph-commit", daemon=True)
        self._thread.start()

    def append(self, records: list[NewRecord]) -> list[Appended]:
        """Append and wait for the commit (any thread but the commit thread)."""
        done = threading.Event()
        slot = _Slot(records, done=done)
        self._queue(slot)
        done.wait()
        return slot.outcome()

    async def append_async(self, records: list[NewRecord]) -> list[Appended]:
        """Append; the running loop goes on while the commit thread commits."""
        future: asyncio.Future[list[Appended]] = asyncio.get_running_loop().create_future()
        self._queue(_Slot(records, future=future))
        return await future

    def close(self) -> None:
        """Commit what is queued, then stop the commit thread; later appends are refused."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def _queue(self, slot: _Slot) -> None:
        with self._cond:
            if self._closed:
                raise StoreUnavailable("the log is closed")
            self._pending.append(slot)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            _commit(self._log, batch)
            _wake(batch)


@dataclass
class _Slot:
    records: list[NewRecord]
    done: threading.Event | None = None
    future: asyncio.Future[list[Appended]] | None = None
    results: list[Appended] = field(default_factory=list)
    error: BaseException | None = None

    def outcome(self) -> list[Appended]:
        if self.error is not None:
            raise self.error
        return self.results


def _commit(log: SqliteLog, batch: list[_Slot]) -> None:
    try:
        results = log.append_all([r for slot in batch for r in slot.records])
    except BaseException as exc:  # handed to every waiting writer
        for slot in batch:
            slot.error = exc
        return
    i = 0
    for slot in batch:
        slot.results = results[i : i + len(slot.records)]
        i += len(slot.records)


def _wake(batch: list[_Slot]) -> None:
    """Wake blocked writers; settle the futures with one callback per event loop (each
    call_soon_threadsafe wakes that loop's selector, so not one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Slot]] = {}
    for slot in batch:
        if slot.future is not None:
            by_loop.setdefault(slot.future.get_loop(), []).append(slot)
        elif slot.done is not None:
            slot.done.set()
    for loop, slots in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits on it
            loop.call_soon_threadsafe(_settle, slots)


def _settle(slots: list[_Slot]) -> None:
    for slot in slots:
        future = slot.future
        if future is None or future.done():  # cancelled meanwhile (client gone)
            continue
        if slot.error is not None:
            future.set_exception(slot.error)
        else:
            future.set_result(slot.results)
