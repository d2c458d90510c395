"""Changes -> few batched ``UNWIND $rows AS r MERGE … SET …`` statements (pure).

Each Bolt round trip costs the same whatever it carries, so a batch becomes as few statements
as possible: its changes are cut into segments at each run of ``DeleteOwned`` (a delete must
see the upserts before it and none after it), each segment's upserts are folded per node and
relationship (same merge policies, so folding equals applying one by one), grouped per label
or per relationship type, and every group is one ``UNWIND`` part. Parts are chained into one
statement with ``WITH count(*) AS _`` (an aggregate: one row out whatever came in, and a
barrier, so a later part sees what an earlier one wrote) up to ``max_rows`` rows.

Merge policies run in Cypher (``CASE``), so the state does not depend on how often or in which
order changes arrive; nothing relies on a transaction rolling back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dpgraph.cypher.literals import name
from dpgraph.cypher.model import Change, DeleteOwned, NodeUpsert, Ranked, RelUpsert

OWNER = "owner"  # the property DeleteOwned matches (dpgraph.cypher.model)
INDEXED_PROPERTIES = ("id", OWNER)
CHAIN = "\nWITH count(*) AS _\n"


@dataclass(frozen=True, slots=True)
class Statement:
    cypher: str
    params: dict[str, Any]
    rows: int


@dataclass
class _Props:
    set: dict[str, Any] = field(default_factory=dict)
    earliest: dict[str, str] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)

    def fold(self, change: NodeUpsert | RelUpsert) -> None:
        self.set.update(change.set)
        for k, v in change.earliest.items():
            self.earliest[k] = min(self.earliest.get(k, v), v)
        for k, v in change.latest.items():
            self.latest[k] = max(self.latest.get(k, v), v)

    def row(self) -> dict[str, Any]:
        return {"s": self.set, "e": self.earliest, "l": self.latest}


@dataclass
class _Node(_Props):
    ranked: Ranked | None = None

    def fold_node(self, change: NodeUpsert) -> None:
        self.fold(change)
        new = change.ranked
        if new is not None and (self.ranked is None
                                or (new.rank, new.tiebreak) > (self.ranked.rank,
                                                               self.ranked.tiebreak)):
            self.ranked = new


@dataclass(frozen=True, slots=True)
class _Part:
    render: Callable[[str], str]  # parameter name -> Cypher text of the part
    rows: list[Any]


def plan(changes: Sequence[Change], labels: Iterable[str], *,
         max_rows: int = 1000) -> list[Statement]:
    """The statements that apply ``changes`` in order; ``labels`` are every node label the
    graph may hold (a DeleteOwned looks for owned nodes under each, through its index)."""
    all_labels = sorted(set(labels) | labels_of(changes))
    parts: list[_Part] = []
    for segment in _segments(changes):
        if isinstance(segment[0], DeleteOwned):
            owners = sorted({c.owner for c in segment if isinstance(c, DeleteOwned)})
            parts.extend(_delete_part(label, owners) for label in all_labels)
        else:
            parts.extend(_upsert_parts(segment))
    return _pack(parts, max_rows)


def labels_of(changes: Sequence[Change]) -> set[str]:
    """Every node label the changes mention."""
    found: set[str] = set()
    for c in changes:
        if isinstance(c, NodeUpsert):
            found.add(c.label)
        elif isinstance(c, RelUpsert):
            found.update((c.src_label, c.dst_label))
    return found


def _segments(changes: Sequence[Change]) -> Iterator[list[Change]]:
    """Maximal runs of deletes and of upserts, in order."""
    run: list[Change] = []
    for c in changes:
        if run and isinstance(c, DeleteOwned) != isinstance(run[0], DeleteOwned):
            yield run
            run = []
        run.append(c)
    if run:
        yield run


def _upsert_parts(segment: list[Change]) -> list[_Part]:
    nodes: dict[tuple[str, str], _Node] = {}
    rels: dict[tuple[str, str, str, str, str], _Props] = {}
    for c in segment:
        if isinstance(c, NodeUpsert):
            nodes.setdefault((c.label, c.id), _Node()).fold_node(c)
        elif isinstance(c, RelUpsert):
            key = (c.type, c.src_label, c.src_id, c.dst_label, c.dst_id)
            rels.setdefault(key, _Props()).fold(c)
    node_groups: dict[tuple[str, tuple[str, str] | None], list[tuple[str, _Node]]] = {}
    for (label, node_id), node in nodes.items():
        sig = None if node.ranked is None else (node.ranked.rank_property,
                                                node.ranked.tiebreak_property)
        node_groups.setdefault((label, sig), []).append((node_id, node))
    rel_groups: dict[tuple[str, str, str], list[tuple[str, str, _Props]]] = {}
    for (rtype, src_label, src_id, dst_label, dst_id), props in rels.items():
        rel_groups.setdefault((rtype, src_label, dst_label), []).append((src_id, dst_id, props))
    # Nodes first: a relationship part then finds them instead of creating bare end points.
    parts = [_node_part(label, sig, members)
             for (label, sig), members in sorted(node_groups.items(), key=_group_order)]
    parts += [_rel_part(rtype, src, dst, members)
              for (rtype, src, dst), members in sorted(rel_groups.items())]
    return parts


def _group_order(item: tuple[tuple[str, tuple[str, str] | None], Any]) -> tuple[str, ...]:
    (label, sig), _ = item
    return (label, *(sig or ()))


def _node_part(label: str, sig: tuple[str, str] | None,
               members: list[tuple[str, _Node]]) -> _Part:
    rows = []
    for node_id, node in members:
        row = {"id": node_id, **node.row()}
        if node.ranked is not None:
            r = node.ranked
            row["k"] = {"rank": r.rank, "tb": r.tiebreak, "props": dict(r.props)}
        rows.append(row)
    earliest = sorted({k for _, n in members for k in n.earliest})
    latest = sorted({k for _, n in members for k in n.latest})

    def render(param: str) -> str:
        text = (f"UNWIND ${param} AS r MERGE (n:{name(label)} {{id: r.id}}) SET n += r.s"
                + _policy_sets("n", earliest, latest))
        if sig is not None:
            rank, tiebreak = (f"n.{name(p)}" for p in sig)
            # The test runs before any write of this part's SET: SET items apply in order.
            text += (f" WITH n, r WHERE r.k IS NOT NULL AND ({rank} IS NULL OR r.k.rank > {rank}"
                     f" OR (r.k.rank = {rank} AND ({tiebreak} IS NULL OR r.k.tb > {tiebreak})))"
                     f" SET n += r.k.props, {rank} = r.k.rank, {tiebreak} = r.k.tb")
        return text

    return _Part(render, rows)


def _rel_part(rtype: str, src_label: str, dst_label: str,
              members: list[tuple[str, str, _Props]]) -> _Part:
    rows = [{"a": src, "b": dst, **props.row()} for src, dst, props in members]
    earliest = sorted({k for _, _, p in members for k in p.earliest})
    latest = sorted({k for _, _, p in members for k in p.latest})

    def render(param: str) -> str:
        return (f"UNWIND ${param} AS r MERGE (a:{name(src_label)} {{id: r.a}})"
                f" MERGE (b:{name(dst_label)} {{id: r.b}})"
                f" MERGE (a)-[e:{name(rtype)}]->(b) SET e += r.s"
                + _policy_sets("e", earliest, latest))

    return _Part(render, rows)


def _policy_sets(var: str, earliest: list[str], latest: list[str]) -> str:
    """``SET`` items keeping the smaller (earliest) or larger (latest) of stored and new; a
    row without the property leaves it as it is."""
    items = []
    for keys, source, cmp in ((earliest, "e", "<"), (latest, "l", ">")):
        for key in keys:
            new, old = f"r.{source}.{name(key)}", f"{var}.{name(key)}"
            items.append(f"{old} = CASE WHEN {new} IS NULL THEN {old}"
                         f" WHEN {old} IS NULL OR {new} {cmp} {old} THEN {new} ELSE {old} END")
    return (" SET " + ", ".join(items)) if items else ""


def _delete_part(label: str, owners: list[str]) -> _Part:
    return _Part(lambda param: (f"UNWIND ${param} AS o MATCH (n:{name(label)}"
                                f" {{{OWNER}: o}}) DETACH DELETE n"), owners)


def _pack(parts: list[_Part], max_rows: int) -> list[Statement]:
    statements: list[Statement] = []
    texts: list[str] = []
    params: dict[str, Any] = {}
    rows = 0

    def flush() -> None:
        nonlocal texts, params, rows
        if texts:
            statements.append(Statement(CHAIN.join(texts), params, rows))
        texts, params, rows = [], {}, 0

    for part in parts:
        for start in range(0, len(part.rows), max_rows):
            chunk = part.rows[start:start + max_rows]
            if rows and rows + len(chunk) > max_rows:
                flush()
            param = f"p{len(params)}"
            params[param] = chunk
            texts.append(part.render(param))
            rows += len(chunk)
    flush()
    return statements


def index_statements(label: str, *, if_not_exists: bool) -> list[str]:
    """One index per indexed property of a label (MERGE looks nodes up by id, DeleteOwned
    by owner). FalkorDB does not take ``IF NOT EXISTS``; the backend asks it what exists."""
    guard = " IF NOT EXISTS" if if_not_exists else ""
    return [f"CREATE INDEX{guard} FOR (n:{name(label)}) ON (n.{name(prop)})"
            for prop in INDEXED_PROPERTIES]
