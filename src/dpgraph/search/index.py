"""The search index: SQLite FTS5 in its own file (``<data-dir>/search.sqlite``).

A projection of the log like the graph: each batch of records is applied in one transaction
together with the offset it reaches, so after a crash rows and offset are never apart, and
re-applying records at or below the offset is skipped. Its own file keeps the log's append
path free of the index's writes. ``synchronous=NORMAL`` is enough: what a power cut could
roll back is rolled back with its offset and re-projected from the log.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.search.extract import change_of
from dpgraph.search.model import FIELD_WEIGHTS, FIELDS, SHORT_FIELDS, Change, Doc, fts_text

_COLUMNS = ", ".join(f'"{f}"' for f in FIELDS)
_SHORT_COLUMNS = ", ".join(f'"{f}"' for f in SHORT_FIELDS)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entry (
    id        INTEGER PRIMARY KEY,
    key       TEXT NOT NULL UNIQUE,
    type      TEXT NOT NULL,
    scope     TEXT NOT NULL,
    domain    TEXT,
    namespace TEXT,
    name      TEXT,
    location  TEXT,
    text      TEXT NOT NULL,
    show      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_scope ON entry (scope);
CREATE VIRTUAL TABLE IF NOT EXISTS entry_text USING fts5(
    {_COLUMNS}, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS entry_short USING fts5(
    {_SHORT_COLUMNS}, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS attribution (
    product TEXT NOT NULL,
    domain  TEXT,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attribution_product ON attribution (product);
CREATE INDEX IF NOT EXISTS attribution_value ON attribution (kind, value, domain);
CREATE TABLE IF NOT EXISTS state (
    name   TEXT PRIMARY KEY,
    offset INTEGER NOT NULL
);
"""
_WEIGHTS = ", ".join(str(w) for w in FIELD_WEIGHTS.values())
_SHORT_WEIGHTS = ", ".join(str(FIELD_WEIGHTS[f]) for f in SHORT_FIELDS)
NAME_FIELDS = ("name", "label", "title", "id")
# FTS5's bm25 normalises by the length of the whole row, so over all fields a product with a
# long description ranks below a short column that merely mentions the word. The score is
# therefore, in decreasing weight: every word in a name field (name, label, title, id); bm25
# over the short fields alone (entry_short: names, terms, namespaces…); bm25 over all fields.
# The two side scores are computed once per query (materialised), not once per row: an FTS5
# MATCH with a rowid constraint still walks the term's whole posting list.
_RANKED = f"""WITH
    named AS MATERIALIZED (SELECT rowid AS id FROM entry_text WHERE entry_text MATCH ?),
    short AS MATERIALIZED (SELECT rowid AS id, -bm25(entry_short, {_SHORT_WEIGHTS}) AS s
                           FROM entry_short WHERE entry_short MATCH ?)
SELECT e.id, e.type, e.domain, e.show,
       1000.0 * (named.id IS NOT NULL) + coalesce(short.s, 0.0)
       + 0.001 * -bm25(entry_text, {_WEIGHTS}) AS score
FROM entry_text JOIN entry e ON e.id = entry_text.rowid
LEFT JOIN named ON named.id = e.id LEFT JOIN short ON short.id = e.id"""
MARK_START, MARK_END = "\x02", "\x03"

# Lineage rows belong to a domain through the products that claim them (see README).
_DOMAIN_FILTER = """(
    e.domain IN ({marks}) OR (e.namespace IS NOT NULL AND EXISTS (
        SELECT 1 FROM attribution a WHERE a.domain IN ({marks}) AND (
            (a.kind = 'namespace' AND a.value = e.namespace)
            OR (a.kind = 'location' AND e.type <> 'job' AND a.value = e.location)
            OR (a.kind = 'job' AND e.type = 'job' AND a.value = e.namespace || char(31) || e.name)
        ))))"""


@dataclass(frozen=True)
class Hit:
    type: str
    domain: str | None
    score: float
    show: dict[str, Any]
    marked: dict[str, str]  # field → its text with the matched tokens between marks


class SearchIndex:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock, self._read_lock = threading.Lock(), threading.Lock()
        self._db = self._connect(path)
        self._db.executescript(_SCHEMA)
        # A reader of its own: WAL lets searches run while the projection writes.
        self._reader = self._connect(path)
        self._offset = self._stored_offset()

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    @property
    def offset(self) -> int:
        """The last log offset the index holds."""
        return self._offset

    # ------------------------------------------------------------------ projection
    def apply(self, records: Sequence[LogRecord]) -> None:
        """Apply the records beyond the index's offset, with that offset, in one transaction."""
        fresh = [r for r in records if r.offset > self._offset]
        if not fresh:
            return
        with self._write_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._apply(fresh)
                self._db.execute("INSERT INTO state VALUES ('log', ?) ON CONFLICT (name) DO "
                                 "UPDATE SET offset = excluded.offset", (fresh[-1].offset,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._offset = fresh[-1].offset

    def catch_up(self, log: SqliteLog, page: int = 1000) -> int:
        """Apply what the log holds beyond the index; returns how many records were read."""
        n = 0
        while batch := list(log.read(after=self._offset, limit=page)):
            self.apply(batch)
            n += len(batch)
        return n

    def clear(self) -> None:
        with self._write_lock:
            self._db.executescript("""BEGIN; DELETE FROM entry; DELETE FROM entry_text;
                DELETE FROM entry_short; DELETE FROM attribution; DELETE FROM state; COMMIT;""")
            self._offset = 0

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._reader.close()
            self._db.close()

    def _apply(self, records: Iterable[LogRecord]) -> None:
        # Lineage merges touch only lineage rows, so they are gathered over the batch and
        # written once per row: a job run daily rewrites nothing when nothing changed.
        merges: dict[str, Doc] = {}
        for record in records:
            change = change_of(record)
            if change is None:
                continue
            self._apply_change(change)
            for doc in change.merge:
                if doc.type == "product":  # a status change: in order with registrations
                    self._merge({doc.key: doc})
                else:
                    merges[doc.key] = merges[doc.key].merged(doc) if doc.key in merges else doc
        self._merge(merges)

    def _apply_change(self, change: Change) -> None:
        if change.drop_scope is not None:
            self._delete([r[0] for r in self._db.execute(
                "SELECT id FROM entry WHERE scope = ?", (change.drop_scope,))])
        if change.put:
            existing = self._load([doc.key for doc in change.put])
            self._delete([row_id for row_id, _ in existing.values()])
            self._write(self._with_new_ids(change.put))
        if change.attributions is not None:
            product, domain, claims = change.attributions
            self._db.execute("DELETE FROM attribution WHERE product = ?", (product,))
            self._db.executemany("INSERT INTO attribution VALUES (?, ?, ?, ?)",
                                 [(product, domain, a.kind, a.value) for a in claims])

    def _merge(self, docs: dict[str, Doc]) -> None:
        existing = self._load(list(docs))
        changed: list[tuple[int, Doc]] = []
        for key, doc in docs.items():
            if key in existing:
                row_id, current = existing[key]
                new = current.merged(doc)
                if new != current:
                    changed.append((row_id, new))
        # New ids first: deleting a changed row that holds the highest id would otherwise
        # hand its id to a new row as well as back to the changed one.
        fresh = self._with_new_ids([doc for key, doc in docs.items() if key not in existing])
        self._delete([row_id for row_id, _ in changed])
        self._write([*changed, *fresh])

    def _with_new_ids(self, docs: list[Doc]) -> list[tuple[int, Doc]]:
        (top,) = self._db.execute("SELECT coalesce(max(id), 0) FROM entry").fetchone()
        return [(top + 1 + i, doc) for i, doc in enumerate(docs)]

    def _load(self, keys: list[str]) -> dict[str, tuple[int, Doc]]:
        out: dict[str, tuple[int, Doc]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            rows = self._db.execute(
                "SELECT id, key, type, text, show, scope, domain, namespace, name, location "
                f"FROM entry WHERE key IN ({', '.join('?' * len(chunk))})", chunk)
            for row_id, key, typ, text, show, scope, domain, ns, name, loc in rows:
                stored = {k: tuple(x) if isinstance(x, list) else x
                          for k, x in json.loads(text).items()}
                out[key] = (row_id, Doc(key, typ, stored, json.loads(show), scope, domain, ns,
                                        name, loc))
        return out

    def _delete(self, ids: list[int]) -> None:
        rows = [(row_id,) for row_id in ids]
        for table, column in (("entry_text", "rowid"), ("entry_short", "rowid"),
                              ("entry", "id")):
            self._db.executemany(f"DELETE FROM {table} WHERE {column} = ?", rows)

    def _write(self, rows: list[tuple[int, Doc]]) -> None:
        """Insert rows with the ids given (one statement per table: the projection's hot
        path)."""
        self._db.executemany(
            "INSERT INTO entry (id, key, type, scope, domain, namespace, name, location, text,"
            " show) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(row_id, d.key, d.type, d.scope, d.domain, d.namespace, d.name, d.location,
              json.dumps(d.text, ensure_ascii=False), json.dumps(d.show, ensure_ascii=False))
             for row_id, d in rows])
        for table, fields in (("entry_text", FIELDS), ("entry_short", SHORT_FIELDS)):
            columns = ", ".join(f'"{f}"' for f in fields)
            self._db.executemany(
                f"INSERT INTO {table} (rowid, {columns}) VALUES (?{', ?' * len(fields)})",
                [(row_id, *(fts_text(d.text.get(f)) for f in fields)) for row_id, d in rows])

    # ------------------------------------------------------------------ queries
    def search(self, match: str, *, types: Sequence[str], domains: Sequence[str], limit: int,
               offset: int) -> tuple[int, list[Hit]]:
        """Rows matching the FTS5 expression ``match``, best first (bm25 with the field
        weights), with the total count and each hit's fields marked where they matched."""
        where, args = ["entry_text MATCH ?"], [match]
        if types:
            where.append(f"e.type IN ({', '.join('?' * len(types))})")
            args += types
        if domains:
            marks = ", ".join("?" * len(domains))
            where.append(_DOMAIN_FILTER.format(marks=marks))
            args += [*domains, *domains]
        condition = " AND ".join(where)
        with self._read_lock:
            self._reader.execute("BEGIN")
            try:
                total = self._reader.execute(
                    "SELECT count(*) FROM entry_text JOIN entry e ON e.id = entry_text.rowid"
                    f" WHERE {condition}", args).fetchone()[0]
                page = self._reader.execute(
                    f"{_RANKED} WHERE {condition} ORDER BY score DESC, e.key LIMIT ? OFFSET ?",
                    [_in_names(match), _any_word(match), *args, limit, offset]).fetchall()
                marked = self._marked(match, [row[0] for row in page])
            finally:
                self._reader.execute("COMMIT")
        return total, [Hit(typ, domain, score, json.loads(show), marked.get(row_id, {}))
                       for row_id, typ, domain, show, score in page]

    def _marked(self, match: str, ids: list[int]) -> dict[int, dict[str, str]]:
        if not ids:
            return {}
        columns = ", ".join(f"highlight(entry_text, {i}, char(2), char(3))"
                            for i in range(len(FIELDS)))
        rows = self._reader.execute(
            f"SELECT rowid, {columns} FROM entry_text WHERE entry_text MATCH ? "
            f"AND rowid IN ({', '.join('?' * len(ids))})", [match, *ids])
        return {row[0]: {f: text for f, text in zip(FIELDS, row[1:], strict=True)
                         if text and MARK_START in text}
                for row in rows}

    def _stored_offset(self) -> int:
        row = self._db.execute("SELECT offset FROM state WHERE name = 'log'").fetchone()
        return int(row[0]) if row else 0


def _in_names(match: str) -> str:
    """``match`` restricted to the name fields (an FTS5 column filter)."""
    return f"{{{' '.join(NAME_FIELDS)}}} : ({match})"


def _any_word(match: str) -> str:
    """``match`` (quoted phrases joined by spaces: AND) with OR between its phrases."""
    return " OR ".join(_PHRASE.findall(match))


_PHRASE = re.compile(r'"(?:[^"]|"")*"\*')
