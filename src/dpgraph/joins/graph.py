"""The join graph: products as nodes, join edges between their elements, identifier terms as
hubs. Built by a pure function from what the log says (views of registrations, the glossary,
decisions, and the SQL and column-lineage facts of lineage events).

A business term shared by thousands of products is *one hub node*, not the pairs of its
members: a pair (a, b) that shares a term is a candidate implicitly, and materialised as an
edge only when something else is known about it (declared, decided, seen in SQL or lineage).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dpgraph.joins.candidates import carried_evidence, kind_for, sql_evidence, term_evidence
from dpgraph.joins.model import DECLARED, ElementRef, Evidence, JoinEdge, pair_id
from dpgraph.lineage.naming import normalize_uri

LAYER_RANK = {"gold": 0, "silver": 1, "bronze": 2}
KIND_RANK = {"table": 0, "view": 0, "file": 1}  # SQL-joinable first; topics and APIs last


@dataclass(frozen=True, slots=True)
class RepView:
    id: str
    location: str
    normalized: str | None
    layer: str | None
    kind: str | None
    format: str | None
    public: bool  # served by a public output port
    columns: dict[str, str]  # element -> column (the first attribute mapped to it)
    elements_by_column: dict[str, str]  # lower-case column -> element

    def preference(self) -> tuple[int, int, int]:
        """Lower is better: public before unserved/private, gold before silver before
        bronze, tables before files before topics and APIs."""
        return (0 if self.public else 1, LAYER_RANK.get(self.layer or "", 3),
                KIND_RANK.get(self.kind or "", 2))


@dataclass(frozen=True, slots=True)
class DeclaredKey:
    element: str
    target: ElementRef
    kind: str
    description: str | None


@dataclass(frozen=True, slots=True)
class ProductView:
    id: str
    status: str
    offset: int
    elements: dict[str, str | None]  # element -> business term
    reps: tuple[RepView, ...]
    declared: tuple[DeclaredKey, ...]

    @property
    def active(self) -> bool:
        return self.status != "retired"


def product_view(descriptor: dict[str, Any], offset: int, status: str | None = None
                 ) -> ProductView:
    """The parts of a stored (already validated) descriptor that joins need."""
    public = {p.get("representation") for p in descriptor.get("outputPorts", [])
              if p.get("visibility") == "public"}
    reps = []
    for r in descriptor.get("representations", []):
        columns: dict[str, str] = {}
        by_column: dict[str, str] = {}
        for a in r.get("attributes", []):
            el = a.get("element")
            if el:
                columns.setdefault(el, a["name"])
                by_column.setdefault(a["name"].lower(), el)
        location = r.get("location") or ""
        reps.append(RepView(r["id"], location,
                            normalize_uri(location) if "://" in location else None,
                            r.get("storageLayer"), r.get("kind"), r.get("format"),
                            r["id"] in public, columns, by_column))
    declared = tuple(
        DeclaredKey(k["element"], ElementRef(k["references"]["product"],
                                             k["references"]["element"]),
                    k.get("kind", "foreign-key"), k.get("description"))
        for k in descriptor.get("joinKeys", []))
    return ProductView(
        descriptor["id"], status or descriptor.get("lifecycleStatus", "active"), offset,
        {e["name"]: e.get("businessTerm") for e in descriptor.get("elements", [])},
        tuple(reps), declared)


# --- facts of lineage events, kept at dataset level so that arrival order does not matter ---

Side = tuple[tuple[str, ...], str]  # (normalised locations of the dataset, column lower-case)


@dataclass(slots=True)
class SqlFact:
    job: tuple[str, str]
    query: str
    condition: str
    tables: tuple[str, str]
    runs: list[str] = field(default_factory=list)
    run_count: int = 0


@dataclass(slots=True)
class CarriedFact:
    job: tuple[str, str]
    output: tuple[str, str]  # (dataset "namespace/name", field)
    source: tuple[str, str]
    transformation: str | None
    runs: list[str] = field(default_factory=list)
    run_count: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    id: str
    status: str  # confirmed | rejected
    a: ElementRef  # from
    b: ElementRef  # to
    kind: str
    detail: dict[str, Any]


@dataclass
class JoinGraph:
    products: dict[str, ProductView]
    roles: dict[str, str]  # term -> identifier role
    edges: dict[str, JoinEdge]  # every materialised pair
    adjacency: dict[str, dict[str, JoinEdge]]  # product -> neighbour -> best usable edge
    hubs: dict[str, list[ElementRef]]  # identifier term -> elements of active products
    product_hubs: dict[str, list[tuple[str, str]]]  # product -> (term, element)

    def term_of(self, ref: ElementRef) -> str | None:
        p = self.products.get(ref.product)
        return p.elements.get(ref.element) if p is not None else None

    def edge(self, a: ElementRef, b: ElementRef) -> JoinEdge | None:
        """The pair's edge, materialised or implied by a shared identifier term."""
        known = self.edges.get(pair_id(a, b))
        if known is not None:
            return known
        term = self.term_of(a)
        if term is None or term != self.term_of(b) or a.product == b.product:
            return None
        evidence = term_evidence(term, self.roles.get(term))
        if evidence is None:
            return None
        x, y = sorted((a, b))
        return JoinEdge(x, y, kind=kind_for(self.roles.get(term)), inferred=[evidence])

    def term_pairs(self, product: str | None = None) -> Iterator[JoinEdge]:
        """Candidates implied by shared identifier terms and not materialised, lazily."""
        terms = ([t for t, _ in self.product_hubs.get(product, [])] if product
                 else sorted(self.hubs))
        for term in dict.fromkeys(terms):
            members = self.hubs[term]
            for i, a in enumerate(members):
                if product is not None and a.product != product:
                    continue
                others = members if product is not None else members[i + 1:]
                for b in others:
                    if b.product == a.product or pair_id(a, b) in self.edges:
                        continue
                    edge = self.edge(a, b)
                    if edge is not None:
                        yield edge


def _resolver(products: dict[str, ProductView]):  # type: ignore[no-untyped-def]
    by_location: dict[str, list[tuple[ProductView, RepView]]] = {}
    for p in products.values():
        for r in p.reps:
            if r.normalized:
                by_location.setdefault(r.normalized, []).append((p, r))

    def resolve(side: Side) -> ElementRef | None:
        locations, column = side
        for loc in locations:
            for p, r in by_location.get(loc, ()):
                element = r.elements_by_column.get(column)
                if element is not None:
                    return ElementRef(p.id, element)
        return None

    return resolve


def build_graph(products: dict[str, ProductView], roles: dict[str, str],
                decisions: dict[str, Decision],
                sql_facts: dict[tuple[tuple[str, str], Side, Side], SqlFact],
                carried: dict[tuple[tuple[str, str], Side, Side], CarriedFact]) -> JoinGraph:
    active = {pid: p for pid, p in products.items() if p.active}

    def exists(ref: ElementRef) -> bool:
        p = active.get(ref.product)
        return p is not None and ref.element in p.elements

    edges: dict[str, JoinEdge] = {}
    for p in active.values():
        for k in p.declared:
            a = ElementRef(p.id, k.element)
            if not exists(a) or not exists(k.target) or a.product == k.target.product:
                continue
            edge = edges.setdefault(pair_id(a, k.target),
                                    JoinEdge(a, k.target, "declared", k.kind))
            detail: tuple[tuple[str, Any], ...] = (("product", p.id), ("logOffset", p.offset))
            if k.description:
                detail += (("description", k.description),)
            edge.declared_by.append(Evidence("registration", DECLARED, detail))

    for d in decisions.values():
        if not (exists(d.a) and exists(d.b)):
            continue
        edge = edges.get(d.id)
        if edge is not None and any(e.kind == "registration" for e in edge.declared_by):
            continue  # a registration's key is changed by re-registering, not by a decision
        if edge is None:
            edge = edges[d.id] = JoinEdge(d.a, d.b)
        edge.decision = {"status": d.status, **d.detail}
        if d.status == "confirmed":
            edge.a, edge.b, edge.status, edge.kind = d.a, d.b, "declared", d.kind
            edge.declared_by.append(Evidence("confirmation", DECLARED,
                                             tuple(sorted(d.detail.items()))))
        else:
            edge.status = "rejected"

    resolve = _resolver(active)
    key_elements = {ref for e in edges.values() for ref in (e.a, e.b)}
    per_job: dict[tuple[str, str, tuple[str, str]], Evidence] = {}
    pairs: dict[str, tuple[ElementRef, ElementRef]] = {}

    def infer(a: ElementRef | None, b: ElementRef | None, kind: str, job: tuple[str, str],
              evidence: Evidence) -> None:
        if a is None or b is None or a.product == b.product:
            return
        pid = pair_id(a, b)
        pairs[pid] = tuple(sorted((a, b)))  # type: ignore[assignment]
        per_job.setdefault((pid, kind, job), evidence)  # one piece per job and kind

    for (_, left, right), f in sql_facts.items():
        infer(resolve(left), resolve(right), "sql", f.job,
              sql_evidence(f.job, f.query, f.condition, f.tables, f.runs, f.run_count))

    def is_key(ref: ElementRef | None) -> bool:
        if ref is None:
            return False
        term = active[ref.product].elements.get(ref.element)
        return ref in key_elements or (term is not None and term in roles)

    for (_, out_side, in_side), c in carried.items():
        a, b = resolve(out_side), resolve(in_side)
        if is_key(a) or is_key(b):
            infer(a, b, "lineage", c.job, carried_evidence(
                c.job, c.output, c.source, c.transformation, c.runs, c.run_count))

    for (pid, _, _), evidence in sorted(per_job.items(), key=lambda kv: kv[0]):
        a, b = pairs[pid]
        edge = edges.get(pid)
        if edge is None:
            edge = edges[pid] = JoinEdge(a, b)
        edge.inferred.append(evidence)

    hubs: dict[str, list[ElementRef]] = {}
    product_hubs: dict[str, list[tuple[str, str]]] = {}
    for p in sorted(active.values(), key=lambda p: p.id):
        for element, term in p.elements.items():
            if term is not None and term in roles:
                hubs.setdefault(term, []).append(ElementRef(p.id, element))
                product_hubs.setdefault(p.id, []).append((term, element))

    adjacency: dict[str, dict[str, JoinEdge]] = {}
    for edge in edges.values():
        term = active[edge.a.product].elements.get(edge.a.element)
        if term is not None and term == active[edge.b.product].elements.get(edge.b.element):
            shared = term_evidence(term, roles.get(term))
            if shared is not None:
                edge.inferred.insert(0, shared)
                if edge.status == "candidate":
                    edge.kind = kind_for(roles.get(term))
        if edge.status == "rejected":
            continue
        for x, y in ((edge.a.product, edge.b.product), (edge.b.product, edge.a.product)):
            best = adjacency.setdefault(x, {}).get(y)
            if best is None or _better(edge, best):
                adjacency[x][y] = edge
    return JoinGraph(active, roles, edges, adjacency, hubs, product_hubs)


def _better(edge: JoinEdge, than: JoinEdge) -> bool:
    return (edge.confidence, than.id) > (than.confidence, edge.id)
