"""The durable write log: every write is appended here first; the graph is its projection.

SQLite in WAL mode with ``synchronous=FULL``: a record is on disk when ``append`` returns,
so a write is acknowledged only after its commit. Offsets are never reused (AUTOINCREMENT),
which lets the projector resume exactly where it stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    offset      INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    digest      TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key ON log (key, kind, offset);
CREATE TABLE IF NOT EXISTS projection (
    name   TEXT PRIMARY KEY,
    offset INTEGER NOT NULL
);
"""


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


def canonical_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
        self._db.executescript(_SCHEMA)

    def append(self, records: list[NewRecord]) -> list[LogRecord]:
        """Append records in one transaction; returns them once committed to disk."""
        at = _now()
        out: list[LogRecord] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for r in records:
                    text = canonical_json(r.payload)
                    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
                    cur = self._db.execute(
                        "INSERT INTO log (kind, key, recorded_at, digest, payload)"
                        " VALUES (?, ?, ?, ?, ?)", (r.kind, r.key, at, digest, text))
                    out.append(LogRecord(int(cur.lastrowid or 0), r.kind, r.key, at, digest,
                                         r.payload))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def read(self, after: int = 0, limit: int | None = None) -> Iterator[LogRecord]:
        """Records with offset > after, in order; reads in pages so memory stays flat."""
        page = 1000 if limit is None else min(limit, 1000)
        remaining = limit
        while remaining is None or remaining > 0:
            rows = self._query("SELECT * FROM log WHERE offset > ? ORDER BY offset LIMIT ?",
                               (after, page if remaining is None else min(page, remaining)))
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
            "SELECT * FROM log WHERE key = ? AND kind >= ? AND kind < ? ORDER BY offset",
            (key, kind_prefix, kind_prefix + "\U0010ffff"))

    def latest(self, kind_prefix: str, key: str) -> LogRecord | None:
        """The newest record of one key whose kind starts with ``kind_prefix``."""
        rows = self._query(
            "SELECT * FROM log WHERE key = ? AND kind >= ? AND kind < ?"
            " ORDER BY offset DESC LIMIT 1", (key, kind_prefix, kind_prefix + "\U0010ffff"))
        return rows[0] if rows else None

    def get(self, offset: int) -> LogRecord | None:
        rows = self._query("SELECT * FROM log WHERE offset = ?", (offset,))
        return rows[0] if rows else None

    def head(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT MAX(offset) FROM log").fetchone()
        return int(row[0] or 0)

    def projected(self, name: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT offset FROM projection WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def set_projected(self, name: str, offset: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO projection (name, offset) VALUES (?, ?)"
                " ON CONFLICT(name) DO UPDATE SET offset = excluded.offset", (name, offset))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[LogRecord]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [LogRecord(o, k, key, at, d, json.loads(p)) for o, k, key, at, d, p in rows]
