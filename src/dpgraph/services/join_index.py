"""The in-memory join index: a projection of the log for join keys and join paths.

Why in memory and not SPARQL per request: a 4-hop path search touches thousands of edges and
term hubs; as graph queries that is one round trip per frontier (tens of ms each on 10,000
products), while walking dicts takes a few ms. The index is fed by the projector with every
batch of log records (after the graph store has them), loaded from the whole log at start-up
and cleared on a rebuild, like :mod:`dpgraph.services.lineage_index`. It keeps only what the
log says, at the level the log says it (lineage facts per dataset location and column), so
registering a product before or after its lineage arrives gives the same join graph.

Readers get an immutable :class:`JoinGraph` snapshot, rebuilt lazily after a change that
matters (a registration, a glossary change, a decision, a new SQL or lineage fact; a further
run of a known job does not).
"""

from __future__ import annotations

from typing import Any

from dpgraph.joins.candidates import is_carried, transformation_of
from dpgraph.joins.graph import (
    CarriedFact,
    Decision,
    JoinGraph,
    ProductView,
    Side,
    SqlFact,
    build_graph,
    product_view,
)
from dpgraph.joins.model import ElementRef
from dpgraph.joins.sql import join_conditions, table_matches
from dpgraph.lineage.naming import normalize_location
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.mapping.join_keys import JOIN_KEY_DECIDED
from dpgraph.services.log_follower import LogFollower

PRODUCT_REGISTERED = "product.registered"
PRODUCT_DEPRECATED = "product.deprecated"
CATALOG_REGISTERED = "catalog.registered"
LINEAGE_EVENT = "lineage.event"
MAX_RUNS_KEPT = 10

Dataset = tuple[str, tuple[str, ...]]  # ("namespace/name", normalised locations)


def _dataset(entry: Any) -> Dataset | None:
    if not isinstance(entry, dict):
        return None
    ns, name = entry.get("namespace"), entry.get("name")
    if not (isinstance(ns, str) and isinstance(name, str) and ns and name):
        return None
    locations = [normalize_location(ns, name)]
    facets = entry.get("facets")
    symlinks = facets.get("symlinks") if isinstance(facets, dict) else None
    idents = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
    for ident in idents if isinstance(idents, list) else ():
        if isinstance(ident, dict) and isinstance(ident.get("namespace"), str) \
                and isinstance(ident.get("name"), str):
            locations.append(normalize_location(ident["namespace"], ident["name"]))
    return f"{ns}/{name}", tuple(dict.fromkeys(loc for loc in locations if loc))


def _side(ds: Dataset, column: str) -> Side:
    return ds[1], column.lower()


def event_facts(event: dict[str, Any]) -> tuple[
        tuple[str, str] | None, str | None,
        list[tuple[Side, Side, str, str, tuple[str, str]]],
        list[tuple[Side, Side, tuple[str, str], tuple[str, str], str | None]]]:
    """(job, runId, SQL joins, carried columns) of one OpenLineage event.

    SQL joins: (left, right, query, condition, (left table, right table)), each table mapped
    to the one input or output dataset it names. Carried columns: (output side, input side,
    (output dataset, field), (input dataset, field), transformation).
    """
    job_obj = event.get("job")
    if not isinstance(job_obj, dict):
        return None, None, [], []
    ns, name = job_obj.get("namespace"), job_obj.get("name")
    if not (isinstance(ns, str) and isinstance(name, str)):
        return None, None, [], []
    job = (ns, name)
    run = event.get("run")
    run_id = run.get("runId") if isinstance(run, dict) else None
    datasets = {side: [d for e in (event.get(side) or []) if (d := _dataset(e)) is not None]
                for side in ("inputs", "outputs")}
    every = datasets["inputs"] + datasets["outputs"]

    joins = []
    facets = job_obj.get("facets")
    sql = facets.get("sql") if isinstance(facets, dict) else None
    query = sql.get("query") if isinstance(sql, dict) else None
    if isinstance(query, str) and query.strip() and every:
        dialect = sql.get("dialect") if isinstance(sql.get("dialect"), str) else None
        for cond in join_conditions(query, dialect):
            left = [d for d in every if table_matches(cond.left.table, d[0].split("/", 1)[1])]
            right = [d for d in every if table_matches(cond.right.table, d[0].split("/", 1)[1])]
            if len(left) == 1 and len(right) == 1 and left[0] != right[0]:
                joins.append((_side(left[0], cond.left.column),
                              _side(right[0], cond.right.column), query, cond.condition,
                              (cond.left.table_name, cond.right.table_name)))

    carried = []
    by_name = {d[0]: d for d in every}
    for i, out in enumerate(event.get("outputs") or []):
        ds = datasets["outputs"][i] if i < len(datasets["outputs"]) else None
        out_facets = out.get("facets") if isinstance(out, dict) else None
        lineage = out_facets.get("columnLineage") if isinstance(out_facets, dict) else None
        fields = lineage.get("fields") if isinstance(lineage, dict) else None
        if ds is None or not isinstance(fields, dict):
            continue
        for field, entry in fields.items():
            if not isinstance(entry, dict):
                continue
            for source in entry.get("inputFields") or []:
                src = _dataset(source) if isinstance(source, dict) else None
                col = source.get("field") if isinstance(source, dict) else None
                if src is None or not isinstance(col, str):
                    continue
                src = by_name.get(src[0], src)
                transformation = transformation_of(source, entry)
                if is_carried(transformation):
                    carried.append((_side(ds, field), _side(src, col), (ds[0], field),
                                    (src[0], col), transformation))
    return job, run_id if isinstance(run_id, str) else None, joins, carried


def _note_run(fact: SqlFact | CarriedFact, run_id: str | None) -> None:
    if run_id is None or run_id in fact.runs:
        return
    fact.run_count += 1
    fact.runs.append(run_id)
    del fact.runs[:-MAX_RUNS_KEPT]


class JoinIndex(LogFollower):
    def _reset(self) -> None:
        super()._reset()
        self._products: dict[str, ProductView] = {}
        self._roles: dict[str, str] = {}
        self._decisions: dict[str, Decision] = {}
        self._sql: dict[tuple[tuple[str, str], Side, Side], SqlFact] = {}
        self._carried: dict[tuple[tuple[str, str], Side, Side], CarriedFact] = {}
        self._graph: JoinGraph | None = None

    # ---------------------------------------------------------------- feeding
    def _invalidate(self) -> None:
        self._graph = None

    def _apply(self, r: LogRecord) -> bool:
        p = r.payload
        if r.kind == PRODUCT_REGISTERED:
            d = p["descriptor"]
            self._products[d["id"]] = product_view(d, r.offset)
            return True
        if r.kind == PRODUCT_DEPRECATED:
            view = self._products.get(p["id"])
            if view is not None:
                self._products[p["id"]] = product_view_with_status(view, p.get("status"))
            return True
        if r.kind == CATALOG_REGISTERED:
            for term in p["catalog"].get("glossary", []):
                role = term.get("identifierRole")
                if role:
                    self._roles[term["id"]] = role
                else:
                    self._roles.pop(term["id"], None)
            return True
        if r.kind == JOIN_KEY_DECIDED:
            a, b = (ElementRef(x["product"], x["element"]) for x in (p["from"], p["to"]))
            detail = {k: p[k] for k in ("by", "reason") if p.get(k)}
            detail.update({"decidedAt": r.recorded_at, "logOffset": r.offset})
            self._decisions[p["id"]] = Decision(p["id"], p["decision"], a, b,
                                                p.get("kind", "foreign-key"), detail)
            return True
        if r.kind == LINEAGE_EVENT:
            return self._lineage(p["event"])
        return False

    def _lineage(self, event: dict[str, Any]) -> bool:
        job, run_id, joins, carried = event_facts(event)
        if job is None:
            return False
        changed = False
        for left, right, query, condition, tables in joins:
            if right < left:
                left, right, tables = right, left, (tables[1], tables[0])
            key = (job, left, right)
            fact = self._sql.get(key)
            if fact is None:
                fact = self._sql[key] = SqlFact(job, query, condition, tables)
                changed = True
            _note_run(fact, run_id)
        for out_side, in_side, output, source, transformation in carried:
            key = (job, out_side, in_side)
            cfact = self._carried.get(key)
            if cfact is None:
                cfact = self._carried[key] = CarriedFact(job, output, source, transformation)
                changed = True
            _note_run(cfact, run_id)
        return changed

    # ---------------------------------------------------------------- reading
    def graph(self) -> JoinGraph:
        """The current join graph (an immutable snapshot; rebuilt after relevant changes)."""
        with self._lock:
            if self._graph is None:
                self._graph = build_graph(self._products, dict(self._roles), self._decisions,
                                          self._sql, self._carried)
            return self._graph

    def product(self, product_id: str) -> ProductView | None:
        with self._lock:
            return self._products.get(product_id)


def product_view_with_status(view: ProductView, status: str | None) -> ProductView:
    return ProductView(view.id, status or "deprecated", view.offset, view.elements, view.reps,
                       view.declared)
