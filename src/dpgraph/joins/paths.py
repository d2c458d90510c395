"""Ranked join paths between two products over a :class:`JoinGraph`, with an example SQL join.

Search: best-first over partial paths (k shortest simple paths, each node settled at most
``limit`` times), cost = hops + λ·Σ −ln(confidence), with λ small enough that one hop more
always costs more than any loss of confidence on ≤ 6 hops: fewer hops first, then higher
confidence; a declared step costs nothing beyond its hop. An identifier-term hub is a node half
a hop from each member, so crossing it is one hop. The exact hop distance to the target (a
breadth-first search from it, bounded by ``max_hops``) guides the search and prunes what
cannot arrive in time.

Ranking of the paths found: hops, then confidence, then declared over inferred steps, then
gold/public, SQL-joinable representations.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

from dpgraph.joins.graph import JoinGraph, ProductView, RepView
from dpgraph.joins.model import TERM_CONFIDENCE, ElementRef, JoinEdge

LAMBDA = 0.02  # 6 hops · −ln(0.01) · 0.02 ≈ 0.55 < 1 hop: hops always dominate
HUB = "\x00term:"  # hub node names; product ids are slugs and never start so


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
    via: Any  # JoinEdge (direct step) | ElementRef (entering a hub, or leaving it)
    group: int = -1  # on a hub: expand the members this many half-hops from the target

    def contains(self, node: str) -> bool:
        label: _Label | None = self
        while label is not None:
            if label.node == node:
                return True
            label = label.parent
        return False


@dataclass
class SearchGraph:
    """Flat adjacency for the search, derived once per join graph."""

    direct: dict[str, list[tuple[str, float, JoinEdge]]]  # product -> (neighbour, cost, edge)
    enter: dict[str, list[tuple[str, ElementRef]]]  # product -> (hub node, its element)
    members: dict[str, list[ElementRef]]  # hub node -> member elements
    leave_cost: dict[str, float]  # hub node -> cost of the half-hop out of it
    blocked: dict[tuple[str, str], set[str]]  # (hub, product) -> products reached otherwise


def search_graph(g: JoinGraph) -> SearchGraph:
    cached = getattr(g, "_search", None)
    if cached is not None:
        return cached
    direct = {p: [(q, 1 + LAMBDA * e.cost, e) for q, e in nbrs.items()]
              for p, nbrs in g.adjacency.items()}
    enter = {p: [(HUB + t, ElementRef(p, el)) for t, el in hubs]
             for p, hubs in g.product_hubs.items()}
    members = {HUB + t: refs for t, refs in g.hubs.items()}
    leave_cost = {HUB + t: 0.5 + LAMBDA * -math.log(TERM_CONFIDENCE.get(g.roles.get(t, ""), 0.5))
                  for t in g.hubs}
    blocked: dict[tuple[str, str], set[str]] = {}
    for e in g.edges.values():  # materialised pairs go over their own edge, or not at all
        ta, tb = g.term_of(e.a), g.term_of(e.b)
        if ta is not None and ta == tb and ta in g.hubs:
            blocked.setdefault((HUB + ta, e.a.product), set()).add(e.b.product)
            blocked.setdefault((HUB + ta, e.b.product), set()).add(e.a.product)
    sg = SearchGraph(direct, enter, members, leave_cost, blocked)
    g._search = sg  # type: ignore[attr-defined]
    return sg


def _distances(sg: SearchGraph, target: str, bound: int) -> dict[str, int]:
    """Exact half-hops to ``target`` of every node within ``bound`` half-hops of it."""
    dist = {target: 0}
    buckets: list[list[str]] = [[] for _ in range(bound + 1)]
    buckets[0].append(target)
    for d in range(bound + 1):
        for node in buckets[d]:
            if dist[node] != d:
                continue
            if node.startswith(HUB):
                nd = d + 1
                if nd <= bound:
                    for ref in sg.members.get(node, ()):
                        if dist.get(ref.product, bound + 1) > nd:
                            dist[ref.product] = nd
                            buckets[nd].append(ref.product)
                continue
            nd = d + 2
            if nd <= bound:
                for q, _, _ in sg.direct.get(node, ()):
                    if dist.get(q, bound + 1) > nd:
                        dist[q] = nd
                        buckets[nd].append(q)
            nd = d + 1
            if nd <= bound:
                for hub, _ in sg.enter.get(node, ()):
                    if dist.get(hub, bound + 1) > nd:
                        dist[hub] = nd
                        buckets[nd].append(hub)
    return dist


def find_paths(g: JoinGraph, source: str, target: str, max_hops: int, limit: int
               ) -> list[list[Step]]:
    """Up to ``limit`` simple paths of at most ``max_hops`` hops, cheapest first (A* over
    partial paths with the exact hop distance to the target as heuristic; each node is
    settled at most ``limit`` times)."""
    sg = search_graph(g)
    max_half = 2 * max_hops
    radius = max_half // 2 + 1  # beyond it a node's distance is only bounded: > radius
    near = _distances(sg, target, radius)
    floor = radius + 1
    dist = _Bound(near, floor)
    settled: dict[str, int] = {}
    hub_groups: dict[str, dict[int, list[ElementRef]]] = {}
    found: list[list[Step]] = []
    seen: set[tuple[str, ...]] = set()
    counter = 0
    # ties (many equally short paths) go to the label nearest the target: depth-first
    heap: list[tuple[float, int, int, _Label]] = [
        (dist.get(source) / 2, dist.get(source), 0, _Label(source, 0, 0.0, None, None))]
    push = heapq.heappush
    while heap and len(found) < limit:
        _, _, _, label = heapq.heappop(heap)
        node = label.node
        if label.group < 0:
            times = settled.get(node, 0)
            if times >= limit:
                continue
            settled[node] = times + 1
        if node == target:
            steps = _steps(g, label)
            key = tuple(f"{s.a}>{s.b}" for s in steps)
            if key not in seen:
                seen.add(key)
                found.append(steps)
            continue
        if node.startswith(HUB):
            # Members are expanded lazily, nearest to the target first: a hub of thousands
            # of products would otherwise push them all at every visit.
            groups = hub_groups.get(node)
            if groups is None:
                groups = hub_groups[node] = _by_distance(sg.members[node], dist)
            cost = label.cost + sg.leave_cost[node]
            half = label.half_hops + 1
            if label.group < 0:
                nxt = next((d for d in sorted(groups) if half + d <= max_half), None)
                if nxt is not None:
                    counter += 1
                    push(heap, (cost + nxt / 2, nxt, counter, _Label(
                        node, label.half_hops, label.cost, label.parent, label.via, nxt)))
                continue
            entered: ElementRef = label.via
            blocked = sg.blocked.get((node, entered.product), ())
            d = label.group
            for ref in groups[d]:
                q = ref.product
                if q == entered.product or q in blocked or label.contains(q):
                    continue
                counter += 1
                push(heap, (cost + d / 2, d, counter, _Label(q, half, cost, label, ref)))
            later = [x for x in groups if d < x and half + x <= max_half]
            if later:
                nxt = min(later)
                counter += 1
                push(heap, (cost + nxt / 2, nxt, counter, _Label(
                    node, label.half_hops, label.cost, label.parent, label.via, nxt)))
            continue
        half = label.half_hops + 2
        for q, step, edge in sg.direct.get(node, ()):
            d = dist.get(q)
            if half + d > max_half or label.contains(q):
                continue
            counter += 1
            cost = label.cost + step
            push(heap, (cost + d / 2, d, counter, _Label(q, half, cost, label, edge)))
        half = label.half_hops + 1
        for hub, ref in sg.enter.get(node, ()):
            d = dist.get(hub)
            if half + d > max_half or label.contains(hub):
                continue
            counter += 1
            cost = label.cost + 0.5
            push(heap, (cost + d / 2, d, counter, _Label(hub, half, cost, label, ref)))
    return found


class _Bound:
    """Half-hops to the target: exact near it, a lower bound (``floor``) elsewhere."""

    __slots__ = ("floor", "near")

    def __init__(self, near: dict[str, int], floor: int) -> None:
        self.near, self.floor = near, floor

    def get(self, node: str) -> int:
        return self.near.get(node, self.floor)


def _by_distance(members: list[ElementRef], dist: _Bound) -> dict[int, list[ElementRef]]:
    groups: dict[int, list[ElementRef]] = {}
    near, floor = dist.near, dist.floor
    for ref in members:
        groups.setdefault(near.get(ref.product, floor), []).append(ref)
    return groups


def _steps(g: JoinGraph, label: _Label) -> list[Step]:
    steps: list[Step] = []
    cur: _Label | None = label
    while cur is not None and cur.parent is not None:
        parent = cur.parent
        if isinstance(cur.via, JoinEdge):
            steps.append(Step(cur.via.own(parent.node), cur.via.own(cur.node), cur.via))
            cur = parent
            continue
        # left a hub: the hub label's via is the element it was entered with
        assert parent.node.startswith(HUB) and parent.parent is not None
        implied = g.edge(parent.via, cur.via)
        assert implied is not None
        steps.append(Step(parent.via, cur.via, implied))
        cur = parent.parent
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
    rendered = [r for steps in find_paths(g, source, target, max_hops, limit + 2)
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
