"""Ranked join paths between two products over a :class:`JoinGraph`, with an example SQL join.

Search: best-first over partial paths (k shortest simple paths, each node settled at most
``limit`` times), cost = hops + λ·Σ −ln(confidence), with λ small enough that one hop more
always costs more than any loss of confidence on ≤ 6 hops: fewer hops first, then higher
confidence; a declared step costs nothing beyond its hop. An identifier-term hub is a node half
a hop from each member, so crossing it is one hop. A lower bound of the hops left (a short
breadth-first search around the target) prunes what cannot arrive within ``max_hops``.

Ranking of the paths found: hops, then confidence, then declared over inferred steps, then
gold/public, SQL-joinable representations.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dpgraph.joins.graph import JoinGraph, ProductView, RepView
from dpgraph.joins.model import TERM_CONFIDENCE, ElementRef, JoinEdge, pair_id

LAMBDA = 0.02  # 6 hops · −ln(0.01) · 0.02 ≈ 0.55 < 1 hop: hops always dominate
HUB = "\x00term:"  # hub node names; product ids are slugs and never start so
BOUND_RADIUS = 2  # half-hops searched around the target for the lower bound


@dataclass(frozen=True, slots=True)
class Step:
    a: ElementRef  # the path's earlier product
    b: ElementRef
    edge: JoinEdge


@dataclass(slots=True)
class _Label:
    node: str
    half_hops: int
    cost: float
    parent: _Label | None
    via: tuple[Any, ...] | None  # ("edge", JoinEdge) | ("enter", term, element) | ("leave", …)

    def contains(self, node: str) -> bool:
        label: _Label | None = self
        while label is not None:
            if label.node == node:
                return True
            label = label.parent
        return False


def _bound(g: JoinGraph, target: str) -> dict[str, int]:
    """Half-hops to ``target`` from each node within BOUND_RADIUS half-hops of it."""
    dist = {target: 0}
    heap = [(0, target)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist[node]:
            continue
        for n, step in _neighbours(g, node):
            nd = d + step
            if nd <= BOUND_RADIUS and nd < dist.get(n, BOUND_RADIUS + 1):
                dist[n] = nd
                heapq.heappush(heap, (nd, n))
    return dist


def _neighbours(g: JoinGraph, node: str) -> Iterator[tuple[str, int]]:
    if node.startswith(HUB):
        for ref in g.hubs.get(node[len(HUB):], ()):
            yield ref.product, 1
        return
    for n in g.adjacency.get(node, {}):
        yield n, 2
    for term, _ in g.product_hubs.get(node, ()):
        yield HUB + term, 1


def find_paths(g: JoinGraph, source: str, target: str, max_hops: int, limit: int
               ) -> list[list[Step]]:
    """Up to ``limit`` simple paths of at most ``max_hops`` hops, cheapest first."""
    near = _bound(g, target)
    floor = BOUND_RADIUS + 1

    def h(node: str) -> int:
        return near.get(node, floor)

    max_half = 2 * max_hops
    settled: dict[str, int] = {}
    found: list[list[Step]] = []
    seen: set[tuple[str, ...]] = set()
    counter = 0
    heap: list[tuple[float, int, _Label]] = [(0.0, 0, _Label(source, 0, 0.0, None, None))]
    while heap and len(found) < limit:
        _, _, label = heapq.heappop(heap)
        times = settled.get(label.node, 0)
        if times >= limit:
            continue
        settled[label.node] = times + 1
        if label.node == target:
            steps = _steps(g, label)
            key = tuple(f"{s.a}>{s.b}" for s in steps)
            if key not in seen:
                seen.add(key)
                found.append(steps)
            continue
        for child in _expand(g, label):
            if child.half_hops + h(child.node) > max_half or label.contains(child.node):
                continue
            counter += 1
            heapq.heappush(heap, (child.cost + h(child.node) / 2, counter, child))
    return found


def _expand(g: JoinGraph, label: _Label) -> Iterator[_Label]:
    node = label.node
    if node.startswith(HUB):
        term = node[len(HUB):]
        assert label.via is not None and label.via[0] == "enter"
        entered: ElementRef = label.via[2]
        role = g.roles.get(term)
        step = 0.5 + LAMBDA * -math.log(TERM_CONFIDENCE.get(role or "", 0.5))
        for ref in g.hubs.get(term, ()):
            if ref.product == entered.product or pair_id(entered, ref) in g.edges:
                continue  # materialised pairs (declared, rejected, seen) go over their edge
            yield _Label(ref.product, label.half_hops + 1, label.cost + step, label,
                         ("leave", ref))
        return
    for neighbour, edge in g.adjacency.get(node, {}).items():
        yield _Label(neighbour, label.half_hops + 2, label.cost + 1 + LAMBDA * edge.cost,
                     label, ("edge", edge))
    for term, element in g.product_hubs.get(node, ()):
        yield _Label(HUB + term, label.half_hops + 1, label.cost + 0.5, label,
                     ("enter", term, ElementRef(node, element)))


def _steps(g: JoinGraph, label: _Label) -> list[Step]:
    steps: list[Step] = []
    cur: _Label | None = label
    while cur is not None and cur.parent is not None:
        via = cur.via
        assert via is not None
        if via[0] == "edge":
            edge: JoinEdge = via[1]
            steps.append(Step(edge.own(cur.parent.node), edge.own(cur.node), edge))
        elif via[0] == "leave":
            hub = cur.parent
            assert hub.via is not None and hub.parent is not None
            implied = g.edge(hub.via[2], via[1])
            assert implied is not None
            steps.append(Step(hub.via[2], via[1], implied))
            cur = hub
        cur = cur.parent
    steps.reverse()
    return steps


# --- rendering --------------------------------------------------------------------------------

_SCAN = {"parquet": "read_parquet", "delta": "delta_scan", "iceberg": "iceberg_scan",
         "csv": "read_csv", "json": "read_json"}
_DATABASE_SCHEMES = ("postgres", "mysql", "duckdb", "sqlite", "snowflake", "redshift",
                     "bigquery", "sqlserver", "oracle", "trino", "hive", "jdbc")


def _choose(product: ProductView, elements: set[str]) -> RepView | None:
    usable = [r for r in product.reps if all(e in r.columns for e in elements)]
    return min(usable, key=lambda r: (r.preference(), r.id)) if usable else None


def table_expression(rep: RepView) -> str:
    """A DuckDB table expression for a representation: a qualified table name for database
    locations, a scan function over the files for object-store ones, else the quoted URI."""
    from sqlglot import exp

    location = rep.normalized or rep.location
    scheme = location.split(":", 1)[0].lower()
    if scheme in _DATABASE_SCHEMES:
        name = location.rstrip("/").rsplit("/", 1)[-1].split(":")[-1]
        return exp.to_table(name).sql(dialect="duckdb")
    scan = _SCAN.get(rep.format or "")
    if scan is not None and rep.kind in ("file", "table", None):
        return f"{scan}({exp.Literal.string(rep.location).sql(dialect='duckdb')})"
    return exp.to_identifier(rep.location, quoted=True).sql(dialect="duckdb")


def _column(alias: str, column: str) -> str:
    from sqlglot import exp

    return exp.column(column, table=alias, quoted=None).sql(dialect="duckdb")


def render_path(g: JoinGraph, steps: list[Step]) -> dict[str, Any] | None:
    """The path as the API shows it; None when some product has no representation carrying
    the columns the path joins on."""
    order = [steps[0].a.product] + [s.b.product for s in steps]
    needed: dict[str, set[str]] = {p: set() for p in order}
    for s in steps:
        needed[s.a.product].add(s.a.element)
        needed[s.b.product].add(s.b.element)
    chosen: dict[str, RepView] = {}
    for p in order:
        rep = _choose(g.products[p], needed[p])
        if rep is None:
            return None
        chosen[p] = rep
    alias = {p: f"t{i}" for i, p in enumerate(order)}

    def end(ref: ElementRef) -> dict[str, Any]:
        rep = chosen[ref.product]
        return {"product": ref.product, "element": ref.element, "term": g.term_of(ref),
                "representation": rep.id, "location": rep.location,
                "storageLayer": rep.layer, "column": rep.columns[ref.element]}

    rendered = []
    lines = [f"SELECT *\nFROM {table_expression(chosen[order[0]])} AS {alias[order[0]]}"]
    confidence = 1.0
    for s in steps:
        edge = s.edge
        confidence *= edge.confidence
        rendered.append({"from": end(s.a), "to": end(s.b), "kind": edge.kind,
                         "status": edge.status, "confidence": edge.confidence,
                         "joinKeyId": edge.id,
                         "evidence": [e.as_dict() for e in (*edge.declared_by, *edge.inferred)]})
        left = _column(alias[s.a.product], chosen[s.a.product].columns[s.a.element])
        right = _column(alias[s.b.product], chosen[s.b.product].columns[s.b.element])
        lines.append(f"JOIN {table_expression(chosen[s.b.product])} AS {alias[s.b.product]}"
                     f"\n  ON {left} = {right}")
    inferred = sum(1 for s in steps if s.edge.status != "declared")
    penalty = sum(sum(chosen[p].preference()) for p in order)
    return {"hops": len(steps), "confidence": round(confidence, 4),
            "declaredSteps": len(steps) - inferred, "inferredSteps": inferred,
            "products": order, "steps": rendered, "sql": "\n".join(lines),
            "_rank": (len(steps), -round(confidence, 6), inferred, penalty, tuple(order))}


def join_paths(g: JoinGraph, source: str, target: str, max_hops: int, limit: int
               ) -> list[dict[str, Any]]:
    """Ranked, rendered paths (the search looks a little wider than ``limit`` so that the
    representation preferences can reorder near-ties)."""
    rendered = [r for steps in find_paths(g, source, target, max_hops, limit * 2)
                if (r := render_path(g, steps)) is not None]
    rendered.sort(key=lambda r: r["_rank"])
    out = []
    for rank, r in enumerate(rendered[:limit], start=1):
        r.pop("_rank")
        out.append({"rank": rank, **r})
    return out


def no_path_reason(g: JoinGraph, source: str, target: str, max_hops: int) -> str:
    for p in (source, target):
        if not g.adjacency.get(p) and not g.product_hubs.get(p):
            return (f"product {p!r} has no declared join key, no join-key candidate and no "
                    f"element with an identifier term")
    return f"no join path of at most {max_hops} hop(s) links {source!r} to {target!r}"


assert LAMBDA * 6 * -math.log(0.01) < 1
