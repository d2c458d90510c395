"""The embedded Cypher backend: Kùzu 0.11.3 in the service's own process, its files under
``<data-dir>/cypher/``. LadybugDB (``real-ladybug``, Kùzu's maintained fork, same API) is
selectable with ``DPGRAPH_CYPHER_ENGINE=real_ladybug``; it is not the default because 0.15.3
loses MERGEs and fails on others (see README, "Choice of Cypher engine").

Writes come from the projection thread through one connection, a batch per transaction.
Changes to the same node or relationship within a batch are first folded into one with the
same merge semantics (``set`` last wins, ``earliest`` min, ``latest`` max, the higher
``ranked``). Then, per label, the batch's nodes are looked up with the properties it may
change: the missing ones are bulk-loaded with ``COPY`` from a CSV file (~500k rows/s;
relationships touching one cannot exist and are bulk-loaded without a lookup), and the
found ones get a ``SET`` of only what the merge policies change (``_delta``; usually
nothing). Relationships between nodes that both existed are looked up from their start
node the same way. Row-by-row ``MERGE`` of relationships ran at ~500 rows/s in Kùzu 0.11,
and ``UNWIND``-bound lookups scan the whole table (see ``_current``). Reads get a
connection each, in a read-only transaction, with the engine's own query timeout.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import importlib
import logging
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, NoReturn

from dpgraph.cypher.base import Row, Statement
from dpgraph.cypher.errors import ViewCommitFailed, ViewOutOfMemory
from dpgraph.cypher.model import Change, DeleteOwned, NodeUpsert, Ranked, RelUpsert, Value
from dpgraph.cypher.relink import Link
from dpgraph.cypher.schema import NODES, OWNED_LABELS, RELS
from dpgraph.cypher.write_guard import WriteGuard
from dpgraph.errors import DpgraphError

ENGINE_MODULE = "kuzu"
log = logging.getLogger("dpgraph.cypher")
# Rows written between checkpoints (see _checkpoint): ~20 MB of the page cache.
CHECKPOINT_ROWS = 20_000
# Lookups (see _current): by primary key, at most LOOKUP_CHUNK per statement, unless the
# batch looks up more than one key per SCAN_ROWS_PER_LOOKUP rows of the table, which one
# statement scanning it answers sooner, and the table is small against the page cache (at
# most a sixteenth of it at ~1 KiB a row: with a quarter, the 10,000-product rebuild ran
# short of cache while its Job, Run and Dataset tables, ~250,000 rows each, were scanned).
LOOKUP_CHUNK = 32
SCAN_ROWS_PER_LOOKUP = 1000
SCAN_CACHE_BYTES_PER_ROW = 16384
ENGINE_DEFAULT_CACHE = 2**30  # assumed when the engine sizes its own (80% of memory)
# Page cache per change of a write transaction, a third of what the engine was seen to need:
# 120,000 changes (field nodes and their HAS_FIELD) committed in 80 MiB, 240,000 ran out,
# sometimes only in COMMIT, which stops the view (tests/test_cypher_view_memory.py).
CACHE_BYTES_PER_CHANGE = 2048
STATEMENTS = "statements"  # the stage of a transaction before its commit


class CypherTimeout(DpgraphError):
    # Not a 5xx: those never carry their detail to the client, and this one is the client's
    # query running too long, not the service failing.
    status = 408
    title = "Query timeout"


class CypherQueryError(DpgraphError):
    """The engine refused the query (binding: unknown label or property, type mismatch…)."""

    status = 400
    title = "Invalid query"


class CypherMemoryExceeded(DpgraphError):
    """The query needs more memory than the engine's page cache (its working memory too)."""

    status = 422
    title = "Query needs too much memory"


def _out_of_memory(exc: RuntimeError) -> bool:
    return "buffer pool is full" in str(exc).lower()


def q(name: str) -> str:
    """A quoted name: the schema's ``Column`` is a reserved word in Kùzu and LadybugDB."""
    return f"`{name}`"


def ddl() -> list[str]:
    out = []
    for label, props in NODES.items():
        cols = "".join(f", {q(name)} {kind}" for name, kind in props.items())
        out.append(f"CREATE NODE TABLE IF NOT EXISTS {q(label)}(id STRING PRIMARY KEY{cols})")
    for rel, (pairs, props) in RELS.items():
        ends = ", ".join(f"FROM {q(a)} TO {q(b)}" for a, b in pairs)
        cols = "".join(f", {q(name)} {kind}" for name, kind in props.items())
        out.append(f"CREATE REL TABLE IF NOT EXISTS {q(rel)}({ends}{cols})")
    return out


# --- folding changes to one per node / relationship ---------------------------------------------


def _min(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: str | None, b: str | None) -> str | None:
    return b if a is None else a if b is None else max(a, b)


def _merge_times(old: Mapping[str, str], new: Mapping[str, str], pick: Any) -> dict[str, str]:
    return {k: pick(old.get(k), new.get(k)) for k in {*old, *new}}


def _winner(a: Ranked | None, b: Ranked | None) -> Ranked | None:
    if a is None or b is None:
        return a or b
    return b if (b.rank, b.tiebreak) > (a.rank, a.tiebreak) else a


def _fold_node(a: NodeUpsert, b: NodeUpsert) -> NodeUpsert:
    return replace(a, set={**a.set, **b.set},
                   earliest=_merge_times(a.earliest, b.earliest, _min),
                   latest=_merge_times(a.latest, b.latest, _max),
                   ranked=_winner(a.ranked, b.ranked))


def _fold_rel(a: RelUpsert, b: RelUpsert) -> RelUpsert:
    return replace(a, set={**a.set, **b.set},
                   earliest=_merge_times(a.earliest, b.earliest, _min),
                   latest=_merge_times(a.latest, b.latest, _max))


def _segments(changes: Sequence[Change]) -> list[DeleteOwned | list[NodeUpsert | RelUpsert]]:
    """Upserts between deletions, each run folded to one change per node/relationship. Within
    a run order does not matter (every merge policy is commutative once folded).

    A deletion is moved ahead of the pending run when that cannot change the result, so that a
    batch of registrations (each one a delete then its upserts) becomes its deletes then one
    run instead of hundreds of small ones (each costs a few statements). That holds when no
    pending node has the deleted owner and every pending relationship's owned end point is a
    pending node: an owned node's id names its owner (the mapping scopes it by product), so a
    node the run upserts for another owner is not one the deletion removes."""
    out: list[DeleteOwned | list[NodeUpsert | RelUpsert]] = []
    nodes: dict[tuple[str, str], NodeUpsert] = {}
    rels: dict[tuple[str, str, str, str, str, str], RelUpsert] = {}
    deletes: list[DeleteOwned] = []  # run before the pending upserts
    owners: set[Value] = set()  # owners of the pending owned nodes
    loose: set[tuple[str, str]] = set()  # owned-label ends of pending rels not pending

    def flush() -> None:
        out.extend(deletes)
        deletes.clear()
        if nodes or rels:
            out.append([*nodes.values(), *rels.values()])
            nodes.clear()
            rels.clear()
        owners.clear()
        loose.clear()

    for c in changes:
        if isinstance(c, DeleteOwned):
            if c.owner in owners or loose:
                flush()
            deletes.append(c)
        elif isinstance(c, NodeUpsert):
            key = (c.label, c.id)
            nodes[key] = _fold_node(nodes[key], c) if key in nodes else c
            if c.label in OWNED_LABELS:
                owners.add(nodes[key].set.get("owner"))
                loose.discard(key)
        else:
            rkey = (c.type, c.src_label, c.src_id, c.dst_label, c.dst_id, "")
            rels[rkey] = _fold_rel(rels[rkey], c) if rkey in rels else c
            for end in ((c.src_label, c.src_id), (c.dst_label, c.dst_id)):
                if end[0] in OWNED_LABELS and end not in nodes:
                    loose.add(end)
    flush()
    return out


# --- statements -----------------------------------------------------------------------------------


def _touched(c: NodeUpsert) -> list[str]:
    """The properties ``c`` may write."""
    out = [*c.set, *c.earliest, *c.latest]
    if c.ranked is not None:
        out += [*c.ranked.props, c.ranked.rank_property, c.ranked.tiebreak_property]
    return out


def _wins(r: Ranked, current: Mapping[str, Value]) -> bool:
    rank, tie = current.get(r.rank_property), current.get(r.tiebreak_property)
    if rank is None or tie is None:  # a missing stored rank (or tiebreak) loses
        return True
    return (r.rank, r.tiebreak) > (rank, tie)  # type: ignore[operator]


def _delta(c: NodeUpsert | RelUpsert, current: Mapping[str, Value]) -> dict[str, Value]:
    """The properties ``c`` changes on an element whose stored properties are ``current``,
    by the merge policies of dpgraph.cypher.model; empty when it changes nothing (most
    upserts of a node seen before: its write is skipped)."""
    out: dict[str, Value] = {k: v for k, v in c.set.items() if current.get(k) != v}
    for k, v in c.earliest.items():
        old = current.get(k)
        if old is None or v < old:  # type: ignore[operator]
            out[k] = v
    for k, v in c.latest.items():
        old = current.get(k)
        if old is None or v > old:  # type: ignore[operator]
            out[k] = v
    ranked = getattr(c, "ranked", None)
    if ranked is not None and _wins(ranked, current):
        won = {**ranked.props, ranked.rank_property: ranked.rank,
               ranked.tiebreak_property: ranked.tiebreak}
        out.update({k: v for k, v in won.items() if current.get(k) != v})
    return out


def _set_clause(var: str, delta: Mapping[str, Value]) -> tuple[str, dict[str, Value]]:
    """`` SET var.p = $v0, …`` for the properties of ``delta`` (empty if none), and its
    parameters."""
    if not delta:
        return "", {}
    sets = ", ".join(f"{var}.{q(p)} = $v{j}" for j, p in enumerate(delta))
    return f" SET {sets}", {f"v{j}": v for j, v in enumerate(delta.values())}


def _copy_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _copyable(c: NodeUpsert | RelUpsert) -> bool:
    """COPY reads an empty CSV field as NULL: an empty string value must go through MERGE."""
    parts: list[Mapping[str, Any]] = [c.set, c.earliest, c.latest]
    ranked = getattr(c, "ranked", None)
    if ranked is not None:
        parts += [ranked.props, {"tiebreak": ranked.tiebreak}]
    return all(v != "" for part in parts for v in part.values())


# --- results --------------------------------------------------------------------------------------


_PLAIN = frozenset({str, int, float, bool, type(None)})  # JSON values as the engine gives them


def _json_ready(value: Any) -> Any:
    """Engine values as JSON values; nodes, relationships and paths as the protocol says."""
    if isinstance(value, dict):
        # Kùzu marks nodes, relationships and paths with _id/_label/_src/_nodes…, LadybugDB
        # with the same keys in capitals.
        meta = {k.lower(): v for k, v in value.items() if isinstance(k, str)
                and k.startswith("_")}
        if "_nodes" in meta and "_rels" in meta:
            return {"nodes": [_json_ready(n) for n in meta["_nodes"]],
                    "relationships": [_json_ready(r) for r in meta["_rels"]]}
        if "_label" in meta and "_id" in meta:
            props = {k: _json_ready(v) for k, v in value.items()
                     if not k.startswith("_") and v is not None}
            if "_src" in meta:
                return {**props, "_type": meta["_label"]}
            return {**props, "_labels": [meta["_label"]]}
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class EmbeddedCypher:
    kind: ClassVar[str] = "embedded"

    def __init__(self, directory: Path, *, engine_module: str = ENGINE_MODULE,
                 buffer_pool_bytes: int = 0) -> None:
        """``buffer_pool_bytes``: the engine's page cache; 0 is its default."""
        self._engine = importlib.import_module(engine_module)
        self._buffer_pool_bytes = buffer_pool_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._path = str(directory / f"graph.{engine_module}")
        self._guard = WriteGuard(directory)
        if reason := self._guard.poisoned:
            log.error("the Cypher view's database is discarded and rebuilt from the log: %s",
                      reason)
            self._delete_files()
        self.fresh = not Path(self._path).exists()
        self.position = 0  # set by the view: the log offset its writes start after
        self._db = self._engine.Database(self._path, buffer_pool_size=buffer_pool_bytes)
        self._copy_file = directory / "copy-rows.csv"
        self._writer = self._engine.Connection(self._db)
        self._lock = threading.Lock()  # one writer
        self._prepared: dict[str, Any] = {}  # the writer's lookups, by text
        self._counts: dict[str, int] = {}  # nodes per label (see _count)
        cache = buffer_pool_bytes or ENGINE_DEFAULT_CACHE
        self._scan_rows = cache // SCAN_CACHE_BYTES_PER_ROW
        self.changes_per_transaction = cache // CACHE_BYTES_PER_CHANGE
        self._unsaved = 0  # rows written since the last checkpoint (about)
        # Readers in flight, so that the database is never replaced (clear) under one.
        self._readers = threading.Condition()
        self._reading = 0
        self._clearing = False
        self._failed: str | None = None  # why writes are refused until clear()
        if not self.fresh and (missing := self._missing_properties()):
            # Properties a newer version keeps (e.g. schema signatures) are facts of every
            # record: an added column would hold them only for records projected from now
            # on, so the view is rebuilt from the log (the log is the truth).
            log.warning("the Cypher view's database lacks properties this version keeps "
                        "(%s): discarded and rebuilt from the log", ", ".join(missing))
            self._replace_database()
            self.fresh = True
        self._create_schema()

    def _create_schema(self) -> None:
        for statement in ddl():
            self._writer.execute(statement)

    def _missing_properties(self) -> list[str]:
        """``Label.property`` of the schema that the open database's node tables lack (a
        label it lacks altogether is created empty, which is right for an older view)."""
        tables = {name for name, in self._rows("CALL show_tables() RETURN name", {})}
        missing = []
        for label, props in NODES.items():
            if label not in tables:
                continue
            have = {name for name, in self._rows(f"CALL table_info('{label}') RETURN name", {})}
            missing += [f"{label}.{p}" for p in props if p not in have]
        return missing

    # --- writes ---

    def apply(self, changes: Sequence[Change]) -> None:
        with self._writing():
            self._unsaved += len(changes)
            owners: list[str] = []  # consecutive deletions go in one statement per label
            for segment in _segments(changes):
                if isinstance(segment, DeleteOwned):
                    owners.append(segment.owner)
                    continue
                self._delete_owned(owners)
                owners = []
                self._upsert(segment)
            self._delete_owned(owners)

    def _delete_owned(self, owners: list[str]) -> None:
        if not owners:
            return
        for label in OWNED_LABELS:
            self._writer.execute(f"MATCH (n:{q(label)}) WHERE n.owner IN $owners "
                                 "DETACH DELETE n", {"owners": owners})
            self._counts.pop(label, None)

    def _upsert(self, changes: list[NodeUpsert | RelUpsert]) -> None:
        by_label: dict[str, dict[str, NodeUpsert]] = {}
        ends: dict[str, set[str]] = {}
        rels: dict[tuple[str, str, str], list[RelUpsert]] = {}
        for c in changes:
            if isinstance(c, NodeUpsert):
                by_label.setdefault(c.label, {})[c.id] = c
            else:
                rels.setdefault((c.type, c.src_label, c.dst_label), []).append(c)
                ends.setdefault(c.src_label, set()).add(c.src_id)
                ends.setdefault(c.dst_label, set()).add(c.dst_id)
        # Nodes that do not exist yet are bulk-loaded, and relationships touching one cannot
        # exist: on a rebuild that is nearly everything, and no lookup is needed for them.
        created: set[tuple[str, str]] = set()
        for label in sorted({*by_label, *ends}):
            upserts = by_label.get(label, {})
            ids = set(upserts) | ends.get(label, set())
            props = sorted({p for c in upserts.values() for p in _touched(c)})
            current = self._current(
                f"MATCH (n:{q(label)}) WHERE n.id = $key RETURN n.id AS k0"
                + "".join(f", n.{q(p)} AS p{j}" for j, p in enumerate(props)),
                sorted(ids), props, rows=lambda label=label: self._count(label))
            fresh: list[NodeUpsert] = []
            for node_id in sorted(ids - {k for k, _ in current}):
                created.add((label, node_id))
                c = upserts.get(node_id, NodeUpsert(label, node_id))
                if _copyable(c):
                    fresh.append(c)
                else:
                    self._write_node(c, _delta(c, {}), create=True)
            if fresh:
                self._copy_nodes(label, fresh)
            if label in self._counts:
                self._counts[label] += len(ids) - len(current)
            for (node_id, _), values in current.items():
                if node_id in upserts and (delta := _delta(upserts[node_id], values)):
                    self._write_node(upserts[node_id], delta, create=False)
        for group in rels.values():
            self._upsert_rels(group, created)

    def _current(self, part: str, keys: Sequence[str], props: Sequence[str], *,
                 rows: Callable[[], int]) -> dict[tuple[str, str], dict[str, Value]]:
        """Rows of ``part`` (a lookup by the primary key ``$key`` returning ``k0``, for a
        relationship ``k1``, then ``props``) for every key, as ``(k0, k1 or "")`` → props.
        ``rows``: how many rows the lookup would scan (nodes of the label, relationships).

        Kùzu plans ``UNWIND $keys … WHERE n.id = key`` (and ``n.id IN $keys``) as a scan of
        the whole label or relationship type with a hash table over it: at 1.8 million
        fields one such lookup took ~150 ms and hundreds of MB of the page cache, a ``SET``
        on 1,000 of them 10 s, and the view's writes ran out of cache. A lookup by primary
        key costs ~0.1 ms at any size; so a batch looks its keys up one by one, unless the
        table is small and the batch large (a rebuild's first pages)."""
        if not keys:
            return {}
        if len(keys) * SCAN_ROWS_PER_LOOKUP > (count := rows()) and count < self._scan_rows:
            return self._rows_by_key(
                f"UNWIND $keys AS key {part.replace('$key', 'key')}", {"keys": list(keys)},
                props)
        out: dict[tuple[str, str], dict[str, Value]] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = list(keys[start:start + LOOKUP_CHUNK])
            # padded to a power of two, so that a few prepared statements serve every size
            size = 1 << (len(chunk) - 1).bit_length()
            chunk += chunk[-1:] * (size - len(chunk))
            text = " UNION ALL ".join(part.replace("$key", f"$k{i}") for i in range(size))
            out.update(self._rows_by_key(text, {f"k{i}": k for i, k in enumerate(chunk)},
                                         props))
        return out

    def _rows_by_key(self, text: str, params: dict[str, Any],
                     props: Sequence[str]) -> dict[tuple[str, str], dict[str, Value]]:
        statement = self._prepared.get(text)
        if statement is None:
            with warnings.catch_warnings():  # kuzu deprecates prepare(); execute() would
                warnings.simplefilter("ignore", DeprecationWarning)  # prepare on each call
                statement = self._prepared[text] = self._writer.prepare(text, params)
        found = self._writer.execute(statement, params)
        width = len(found.get_column_names()) - len(props)
        out: dict[tuple[str, str], dict[str, Value]] = {}
        while found.has_next():
            row = found.get_next()
            out[(row[0], row[1] if width == 2 else "")] = dict(
                zip(props, row[width:], strict=True))
        return out

    def _count(self, label: str) -> int:
        """Nodes of ``label`` (kept from the engine's own count, which costs ~1 ms)."""
        if label not in self._counts:
            found = self._writer.execute(f"MATCH (n:{q(label)}) RETURN count(n)")
            self._counts[label] = int(found.get_next()[0])
        return self._counts[label]

    def _count_rels(self, rel: str, src_label: str, keys: int) -> int:
        """Relationships of ``rel``, counted (~20 ms at a million) only when the batch
        looks up enough start nodes for a scan: otherwise their count is answer enough."""
        nodes = self._count(src_label)
        if nodes >= self._scan_rows or keys * SCAN_ROWS_PER_LOOKUP <= nodes:
            return nodes
        found = self._writer.execute(f"MATCH ()-[x:{q(rel)}]->() RETURN count(x)")
        return int(found.get_next()[0])

    def _write_node(self, c: NodeUpsert, delta: Mapping[str, Value], *, create: bool) -> None:
        head = (f"MERGE (n:{q(c.label)} {{id: $id}})" if create
                else f"MATCH (n:{q(c.label)}) WHERE n.id = $id")
        sets, values = _set_clause("n", delta)
        self._writer.execute(head + sets, {"id": c.id, **values})

    def _copy_nodes(self, label: str, group: list[NodeUpsert]) -> None:
        props = list(NODES[label])
        rows = []
        for c in group:
            values: dict[str, Value] = {**c.set, **c.earliest, **c.latest}
            if c.ranked is not None:
                values.update(c.ranked.props)
                values[c.ranked.rank_property] = c.ranked.rank
                values[c.ranked.tiebreak_property] = c.ranked.tiebreak
            rows.append([c.id, *(_copy_value(values.get(p)) for p in props)])
        self._copy(label, ["id", *props], rows, "")

    def _copy(self, table: str, header: list[str], rows: list[list[str]], options: str) -> None:
        """Bulk-load rows into a node or relationship table through a CSV file."""
        with self._copy_file.open("w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)
        path = str(self._copy_file).replace("'", "''")
        self._writer.execute(
            f"COPY {q(table)} FROM '{path}' ({options}HEADER=true, PARALLEL=false)")

    def _upsert_rels(self, group: list[RelUpsert], created: set[tuple[str, str]]) -> None:
        first = group[0]
        new: list[RelUpsert] = []
        both_ends_existed: list[RelUpsert] = []
        for c in group:
            touches_created = ((c.src_label, c.src_id) in created
                               or (c.dst_label, c.dst_id) in created)
            (new if touches_created else both_ends_existed).append(c)
        if both_ends_existed:
            # Looked up from the start node: the side with few relationships in every type.
            props = list(RELS[first.type][1])
            current = self._current(
                f"MATCH (a:{q(first.src_label)})-[x:{q(first.type)}]->(b:{q(first.dst_label)}) "
                "WHERE a.id = $key RETURN a.id AS k0, b.id AS k1"
                + "".join(f", x.{q(p)} AS p{j}" for j, p in enumerate(props)),
                sorted({c.src_id for c in both_ends_existed}), props,
                rows=lambda: self._count_rels(first.type, first.src_label,
                                              len(both_ends_existed)))
            for c in both_ends_existed:
                values = current.get((c.src_id, c.dst_id))
                if values is None:
                    new.append(c)
                elif delta := _delta(c, values):
                    self._write_rel(c, delta, create=False)
        fast = []
        for c in new:
            if _copyable(c):
                fast.append(c)
            else:
                self._write_rel(c, _delta(c, {}), create=True)
        if fast:
            self._copy_rels(first.type, first.src_label, first.dst_label, fast)

    def _write_rel(self, c: RelUpsert, delta: Mapping[str, Value], *, create: bool) -> None:
        a, b, t = q(c.src_label), q(c.dst_label), q(c.type)
        head = (f"MATCH (a:{a}) WHERE a.id = $src MATCH (b:{b}) WHERE b.id = $dst "
                f"CREATE (a)-[x:{t}]->(b)" if create else
                f"MATCH (a:{a})-[x:{t}]->(b:{b}) WHERE a.id = $src AND b.id = $dst")
        sets, values = _set_clause("x", delta)
        self._writer.execute(head + sets, {"src": c.src_id, "dst": c.dst_id, **values})

    def link(self, links: Sequence[Link]) -> None:
        drawn: set[str] = set()  # relationship types this call drew links of
        with self._writing():
            for each in links:
                if each.only_after and not each.only_after & drawn:
                    continue
                link = each.narrowed(self._rows)
                if link is None:
                    continue
                while pairs := link.missing(self._rows):
                    drawn.add(link.type)
                    self._unsaved += len(pairs)
                    (src_label, dst_label), = RELS[link.type][0]
                    self._copy_rels(link.type, src_label, dst_label, [
                        RelUpsert(link.type, src_label, a, dst_label, b,
                                  set=dict(zip(link.copied, values, strict=True)))
                        for a, b, *values in pairs])
                    if not link.closure:
                        break

    def _rows(self, cypher: str, params: Mapping[str, Any]) -> list[list[Any]]:
        found = self._writer.execute(cypher, dict(params))
        rows = []
        while found.has_next():
            rows.append(found.get_next())
        return rows

    def _copy_rels(self, rel: str, src_label: str, dst_label: str,
                   group: list[RelUpsert]) -> None:
        props = list(RELS[rel][1])
        rows = []
        for c in group:
            values: dict[str, Value] = {**c.set, **c.earliest, **c.latest}
            rows.append([c.src_id, c.dst_id, *(_copy_value(values.get(p)) for p in props)])
        self._copy(rel, ["src", "dst", *props], rows, f"from='{src_label}', to='{dst_label}', ")

    def run(self, statements: Sequence[Statement]) -> None:
        with self._writing():
            for text, params in statements:
                self._writer.execute(text, dict(params))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, then a checkpoint once CHECKPOINT_ROWS rows are unsaved.
        Out of page cache in the statements rolls back, and the view writes less at a time.
        A failure in the commit or the checkpoint after it may leave the database
        inconsistent: it takes no more writes (reads go on), and the next start rebuilds it
        from the log. Either way the error names the setting to raise (the view's thread
        shows it in /health)."""
        with self._lock:
            if self._failed is not None:
                raise ViewCommitFailed(self._failed)
            with self._guard.writing(self.position):
                transaction = _Transaction(self._writer)
                try:
                    with transaction:
                        yield
                    if self._unsaved >= CHECKPOINT_ROWS:
                        self._checkpoint()
                except RuntimeError as exc:
                    if transaction.stage != STATEMENTS:
                        self._commit_failed(transaction.stage, exc)
                    if not _out_of_memory(exc):
                        raise
                    reason = (f"a write ran out of page cache in its statements "
                              f"({self._cache_size}), after log offset {self.position}")
                    log.warning("the Cypher view: %s; its database is to be rebuilt", reason)
                    # Kùzu 0.11 leaves the database wrong after this (see clear): no more
                    # writes to it, and the next start discards it if clear() is not reached.
                    self._guard.distrust(reason)
                    self._failed = f"the Cypher view's database is to be rebuilt: {reason}"
                    raise ViewOutOfMemory(
                        "the Cypher view's write needs more than the engine's page cache "
                        f"({self._cache_size}, DPGRAPH_CYPHER_BUFFER_POOL_MB); raise it and "
                        "restart the service") from exc

    @property
    def _cache_size(self) -> str:
        return (f"{self._buffer_pool_bytes // 2**20} MiB" if self._buffer_pool_bytes
                else "the engine's default")

    def _commit_failed(self, stage: str, exc: RuntimeError) -> NoReturn:
        """Seen with Kùzu 0.11.3: out of page cache in COMMIT, the rows there after
        reopening (no rollback), and twice before the 10,000-product database was found
        corrupt; and "Invalid transaction type to rollback" from COMMIT, the process then
        aborting at exit."""
        why = "ran out of page cache" if _out_of_memory(exc) else f"failed ({exc})"
        reason = (f"a write {why} in its {stage} ({self._cache_size} of page cache), after "
                  f"log offset {self.position}")
        log.error("the Cypher view: %s", reason)
        self._guard.distrust(reason)
        self._failed = (
            f"the Cypher view stopped: {reason}, which may leave its database inconsistent."
            " It takes no more writes; raise DPGRAPH_CYPHER_BUFFER_POOL_MB and restart the "
            "service, which rebuilds the view from the log")
        raise ViewCommitFailed(self._failed) from exc

    def _checkpoint(self) -> None:
        """Kùzu keeps committed rows in its page cache until a checkpoint, and starts one by
        itself only when the WAL outgrows 16 MB, which bulk loads (COPY, not logged row by
        row) hardly grow: without this the cache filled with committed rows until every
        commit failed (at ~60,000 fields under 64 MiB, ~1.4 million under 1 GiB)."""
        try:
            self._writer.execute("CHECKPOINT")
            self._unsaved = 0
        except RuntimeError as exc:
            if _out_of_memory(exc):
                raise
            # e.g. a long read still running: tried again after the next write
            log.warning("the Cypher view could not checkpoint (%s)", exc)

    # --- reads ---

    @contextlib.contextmanager
    def _read_connection(self) -> Iterator[Any]:
        with self._readers:
            self._readers.wait_for(lambda: not self._clearing)
            self._reading += 1
        try:
            conn = self._engine.Connection(self._db)
            try:
                yield conn
            finally:
                conn.close()
        finally:
            with self._readers:
                self._reading -= 1
                self._readers.notify_all()

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *,
              timeout: float) -> list[Row]:
        with self._read_connection() as conn:
            conn.set_query_timeout(max(1, int(timeout * 1000)))
            conn.execute("BEGIN TRANSACTION READ ONLY")
            try:
                # Kùzu refuses parameters the statement does not use; callers (the named
                # queries) may pass every declared one.
                used = {k: v for k, v in (params or {}).items()
                        if re.search(rf"\${re.escape(k)}\b", cypher)}
                result = conn.execute(cypher, used)
            except RuntimeError as exc:
                message = str(exc)
                if "interrupted" in message.lower() or "timeout" in message.lower():
                    raise CypherTimeout(
                        f"the query ran longer than {timeout:g} s and was stopped") from exc
                if _out_of_memory(exc):
                    raise CypherMemoryExceeded(
                        "the query needs more memory than the Cypher engine may use "
                        "(DPGRAPH_CYPHER_BUFFER_POOL_MB); bound its paths or aggregate "
                        "less") from exc
                raise CypherQueryError(message) from exc
            if isinstance(result, list):  # several statements: refused before they get here
                raise CypherQueryError("one statement per query")
            columns = result.get_column_names()
            rows: list[Row] = []
            while result.has_next():
                # Most values are strings and numbers: checking their type first converts
                # 20,000 rows of 4 columns in ~20 ms instead of ~50.
                rows.append(dict(zip(columns, [v if type(v) in _PLAIN else _json_ready(v)
                                               for v in result.get_next()], strict=True)))
            return rows

    def clear(self) -> None:
        """Delete the database and open an empty one, once no read is running.

        Deleted rather than emptied with DROP TABLE: Kùzu 0.11 leaves a database wrong after
        running out of page cache in a write's statements. Its rollback leaves the in-memory
        state wrong (the next COPY of the same nodes failed: "Unable to find primary key
        value"), and reopening does not make it right on disk: the second commit after it
        grew the file past 8 GB where the same writes make 128 MB without the failed one (a
        CI run filled its disk). After a failed commit the database is not trusted either."""
        with self._lock:
            with self._readers:
                self._clearing = True
                self._readers.wait_for(lambda: self._reading == 0)
            try:
                self._replace_database()
                self._prepared.clear()
                self._counts.clear()
                self._unsaved = 0
                self._failed = None
                self._create_schema()
            finally:
                with self._readers:
                    self._clearing = False
                    self._readers.notify_all()

    def _replace_database(self) -> None:
        """Close the database, delete its files and open an empty one in their place."""
        self._writer.close()
        self._db.close()
        self._delete_files()
        self._db = self._engine.Database(self._path, buffer_pool_size=self._buffer_pool_bytes)
        self._writer = self._engine.Connection(self._db)

    def _delete_files(self) -> None:
        """Distrusted first: a start after a crash half-way through deletes the rest."""
        self._guard.distrust("its files were being deleted")
        for file in Path(self._path).parent.glob(f"{Path(self._path).name}*"):
            file.unlink()
        self._guard.forget()

    def close(self) -> None:
        with self._lock:
            self._writer.close()
            self._db.close()


class _Transaction:
    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.stage = STATEMENTS  # where it is: a failure past the statements distrusts

    def __enter__(self) -> None:
        self._conn.execute("BEGIN TRANSACTION")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if kind is None:
            self.stage = "commit"
            self._conn.execute("COMMIT")
            self.stage = "checkpoint after the commit"
            return
        with contextlib.suppress(RuntimeError):  # the engine may have rolled back already
            self._conn.execute("ROLLBACK")
