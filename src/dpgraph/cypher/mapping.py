"""Pure mapping of log records to property-graph changes (docs/property-graph.md).

No I/O, no clock: the same record always gives the same list of changes, and every change is
idempotent (dpgraph.cypher.model), so a batch can be re-applied after a crash.

- ``product.registered``: ``DeleteOwned("product:<id>")`` then the product's nodes, each with
  ``owner = "product:<id>"``, so a re-registration replaces them (elements, representations,
  columns, ports, rules, join keys). Reference entities (domain, owner, term …), jobs and
  namespaces it points at are shared, never owned: they survive the product.
- ``product.deprecated``: lifecycle and ``deprecatedAt`` on the product.
- ``catalog.registered``: upserts of the entities it lists; an absent optional value clears the
  property (``None``).
- ``lineage.event``: jobs, runs, namespaces, datasets, fields (schema, nested as
  ``parent.child``), column derivations, symlinks, parent runs and jobs. Whatever several
  events decide is merged order-independently: a run's state is ``Ranked`` (terminal events
  beat START/RUNNING, then the later event time), ``startedAt`` the earliest START,
  ``firstSeen``/``lastSeen`` the earliest/latest event time; facts a later event may restate
  differently (a field's type, a job's type facet) come from the event with the latest time.
  Each dataset an event reports typed fields of gets that event's schema signature, and each
  representation the signature of its columns (dpgraph.cypher.schema_signature).

Links between lineage and registrations (``REPRESENTS``, ``REALISES``, the ``TO_ELEMENT`` side
of a join key into another product) depend on both sides and are not produced here: see
dpgraph.cypher.relink, which the projection runs after each batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dpgraph.cypher.model import Change, DeleteOwned, NodeUpsert, Ranked, RelUpsert, Value
from dpgraph.cypher.schema_signature import columns_properties, schema_properties
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.lineage.mapping import canonical_json, event_kind_and_time, utc_datetime
from dpgraph.lineage.naming import normalize_location, normalize_uri
from dpgraph.log.sqlite_log import LogRecord

PRODUCT_REGISTERED = "product.registered"
PRODUCT_DEPRECATED = "product.deprecated"
CATALOG_REGISTERED = "catalog.registered"
LINEAGE_EVENT = "lineage.event"

TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})
# A run's state: terminal events win over START/RUNNING whatever the arrival order; OTHER
# (allowed at any time by the spec) never overrides a known state.
STATE_RANK = {"OTHER": 0, "START": 1, "RUNNING": 1, "COMPLETE": 2, "FAIL": 2, "ABORT": 2}
BUILTIN_CLASSIFICATIONS = (("public", "public", 0), ("internal", "internal", 1),
                           ("confidential", "confidential", 2), ("pii", "personal data", 3))


def owner_of_product(product_id: str) -> str:
    return f"product:{product_id}"


def bootstrap_changes() -> list[Change]:
    """What the ontology contributes: the built-in classifications and their ranks."""
    return [NodeUpsert("Classification", cid, set={"label": label, "rank": rank})
            for cid, label, rank in BUILTIN_CLASSIFICATIONS]


def record_changes(record: LogRecord) -> list[Change]:
    """The changes one log record makes to the view; unknown kinds change nothing."""
    if record.kind == PRODUCT_REGISTERED:
        return product_changes(ProductDescriptor.model_validate(record.payload["descriptor"]),
                               record.recorded_at)
    if record.kind == PRODUCT_DEPRECATED:
        p = record.payload
        return [NodeUpsert("Product", p["id"], set={
            "lifecycle": p.get("status", "deprecated"), "deprecatedAt": record.recorded_at})]
    if record.kind == CATALOG_REGISTERED:
        return catalog_changes(CatalogDescriptor.model_validate(record.payload["catalog"]))
    if record.kind == LINEAGE_EVENT:
        p = record.payload
        return event_changes(p["event"], frozenset(p.get("invalidFacets", ())))
    return []


# --- registrations ----------------------------------------------------------------------------


def product_changes(d: ProductDescriptor, registered_at: str) -> list[Change]:
    pid, own = d.id, owner_of_product(d.id)
    out: list[Change] = [DeleteOwned(own)]

    def node(label: str, node_id: str, **props: Value) -> None:
        out.append(NodeUpsert(label, node_id, set={**props, "owner": own}))

    def rel(kind: str, src: tuple[str, str], dst: tuple[str, str]) -> None:
        out.append(RelUpsert(kind, src[0], src[1], dst[0], dst[1]))

    product = ("Product", pid)
    contract = d.contract
    node("Product", pid, name=d.name, description=d.description, lifecycle=d.lifecycleStatus,
         version=d.version, registeredAt=registered_at,
         contractValidUntil=(contract.validUntil.isoformat()
                             if contract is not None and contract.validUntil else None))
    if d.domain:
        rel("IN_DOMAIN", product, ("Domain", d.domain))
    if d.owner:
        rel("OWNED_BY", product, ("Owner", d.owner))
    if d.sourceApplication:
        rel("GOLDEN_SOURCE", product, ("Application", d.sourceApplication))
    for el in d.elements:
        element = ("DataElement", f"{pid}/{el.name}")
        node(*element, product=pid, name=el.name, dataType=el.dataType,
             classification=el.classification)
        rel("HAS_ELEMENT", product, element)
        if el.businessTerm:
            rel("MEANS", element, ("BusinessTerm", el.businessTerm))
        if el.classification:
            rel("CLASSIFIED_AS", element, ("Classification", el.classification))
    for rep in d.representations:
        representation = ("Representation", f"{pid}/{rep.id}")
        location = rep.location
        node(*representation, product=pid, kind=rep.kind, location=location,
             normalizedLocation=(normalize_uri(location)
                                 if location and "://" in location else None),
             format=rep.format, layer=rep.storageLayer, historization=rep.historization,
             **columns_properties((attr.name, attr.type) for attr in rep.attributes))
        rel("HAS_REPRESENTATION", product, representation)
        for attr in rep.attributes:
            column = ("Column", f"{pid}/{rep.id}/{attr.name}")
            node(*column, product=pid, name=attr.name, type=attr.type)
            rel("HAS_COLUMN", representation, column)
            if attr.element:
                rel("HOLDS", column, ("DataElement", f"{pid}/{attr.element}"))
    for port in d.outputPorts:
        output = ("OutputPort", f"{pid}/{port.id}")
        node(*output, product=pid, kind=port.kind, visibility=port.visibility)
        rel("HAS_PORT", product, output)
        if port.representation:
            rel("SERVES", output, ("Representation", f"{pid}/{port.representation}"))
    for rule in d.qualityRules:
        quality = ("QualityRule", f"{pid}/{rule.id}")
        node(*quality, product=pid, metric=rule.metric, comparator=rule.comparator,
             threshold=rule.threshold)
        rel("HAS_QUALITY_RULE", product, quality)
        if rule.element:
            rel("ON_ELEMENT", quality, ("DataElement", f"{pid}/{rule.element}"))
    for key in d.joinKeys:
        ref = key.references
        target = f"{ref.product}/{ref.element}"
        join = ("JoinKey", f"{pid}/{key.element}->{target}")
        # The target element belongs to another product: the relink step draws TO_ELEMENT
        # from ``target`` whenever both exist, so neither registration order nor the other
        # product's re-registration loses it.
        node(*join, product=pid, kind=key.kind, target=target, targetProduct=ref.product)
        rel("HAS_JOIN_KEY", product, join)
        rel("FROM_ELEMENT", join, ("DataElement", f"{pid}/{key.element}"))
    for ns in d.lineage.namespaces:
        rel("PRODUCED_IN", product, ("Namespace", ns))
    for job in d.lineage.jobs:
        job_id = f"{job.namespace}:{job.name}"
        out.append(NodeUpsert("Job", job_id, set={"namespace": job.namespace, "name": job.name}))
        rel("PRODUCED_BY", product, ("Job", job_id))
    return out


def catalog_changes(c: CatalogDescriptor) -> list[Change]:
    out: list[Change] = []
    for dom in c.domains:
        out.append(NodeUpsert("Domain", dom.id, set={"name": dom.name}))
    for o in c.owners:
        out.append(NodeUpsert("Owner", o.id, set={"name": o.name, "kind": o.kind,
                                                  "email": o.email, "active": o.active}))
        if o.domain:
            out.append(RelUpsert("IN_DOMAIN", "Owner", o.id, "Domain", o.domain))
    for a in c.applications:
        out.append(NodeUpsert("Application", a.id, set={"name": a.name}))
        if a.domain:
            out.append(RelUpsert("IN_DOMAIN", "Application", a.id, "Domain", a.domain))
        for ns in a.lineage.namespaces if a.lineage else ():
            out.append(RelUpsert("LANDS_IN", "Application", a.id, "Namespace", ns))
    for t in c.glossary:
        out.append(NodeUpsert("BusinessTerm", t.id, set={"label": t.label,
                                                         "identifierRole": t.identifierRole}))
    for cl in c.classifications:
        out.append(NodeUpsert("Classification", cl.id, set={"label": cl.label,
                                                            "rank": cl.rank}))
    return out


# --- lineage ----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ref(obj: Any) -> tuple[str, str] | None:
    """(namespace, name) of a {namespace, name} object, or None when it names nothing."""
    if not isinstance(obj, dict):
        return None
    ns, name = obj.get("namespace"), obj.get("name")
    if isinstance(ns, str) and isinstance(name, str) and ns and name:
        return ns, name
    return None


def _latest(at: str, props: dict[str, Value]) -> Ranked | None:
    """Facts that the event with the latest time decides (the value breaks a tie, so two
    events of the same instant still land the same whatever their order)."""
    kept = {k: v for k, v in props.items() if v is not None}
    if not kept:
        return None
    return Ranked("factsRank", 0, "factsAt", f"{at}|{canonical_json(kept)}", kept)


class _EventChanges:
    def __init__(self, at: str, invalid: frozenset[str]) -> None:
        self.at = at
        self.invalid = invalid
        self.out: list[Change] = []
        self._datasets: set[str] = set()
        self._typed: dict[str, set[tuple[str, str]]] = {}  # dataset -> its typed fields

    def changes(self) -> list[Change]:
        """What the event changes, with the schema signature of each dataset it reported
        typed fields of (dpgraph.cypher.schema_signature)."""
        return self.out + [NodeUpsert("Dataset", ds, latest=schema_properties(self.at, fields))
                           for ds, fields in self._typed.items()]

    def facet(self, facets: Any, name: str, pointer: str) -> dict[str, Any] | None:
        """A facet to project: a dict, not marked deleted, not found invalid by the receiver
        (those are kept raw in the RDF graph and carry no projected meaning)."""
        if not isinstance(facets, dict):
            return None
        facet = facets.get(name)
        if (not isinstance(facet, dict) or facet.get("_deleted") is True
                or f"{pointer}/{name}" in self.invalid):
            return None
        return facet

    def namespace(self, ns: str) -> None:
        self.out.append(NodeUpsert("Namespace", ns))

    def dataset(self, ns: str, name: str) -> str:
        ds = f"{ns}:{name}"
        if ds not in self._datasets:
            self._datasets.add(ds)
            self.namespace(ns)
            self.out.append(NodeUpsert("Dataset", ds, set={
                "namespace": ns, "name": name,
                "normalizedLocation": normalize_location(ns, name)}))
            self.out.append(RelUpsert("IN_NAMESPACE", "Dataset", ds, "Namespace", ns))
        return ds

    def job(self, ns: str, name: str, facets: Any = None, pointer: str = "") -> str:
        job = f"{ns}:{name}"
        self.namespace(ns)
        job_type = self.facet(facets, "jobType", pointer)
        facts = {} if job_type is None else {
            "jobType": _text(job_type.get("jobType")),
            "integration": _text(job_type.get("integration")),
            "processingType": _text(job_type.get("processingType"))}
        self.out.append(NodeUpsert("Job", job, set={"namespace": ns, "name": name},
                                   ranked=_latest(self.at, facts)))
        self.out.append(RelUpsert("IN_NAMESPACE", "Job", job, "Namespace", ns))
        return job

    def run(self, run_id: str, job: str | None, state: str | None, *, reported: bool) -> None:
        """A run this event is about (``reported``), or one it names as a parent."""
        ranked = None
        if state is not None:
            props: dict[str, Value] = {"state": state}
            if state in TERMINAL_STATES:
                props["endedAt"] = self.at
            ranked = Ranked("stateRank", STATE_RANK[state], "stateAt", f"{self.at}|{state}",
                            props)
        self.out.append(NodeUpsert(
            "Run", run_id, set={"job": job} if job else {},
            earliest={"startedAt": self.at} if state == "START" else {},
            latest={"lastEventTime": self.at} if reported else {},
            ranked=ranked))
        if job:
            self.out.append(RelUpsert("OF_JOB", "Run", run_id, "Job", job))

    def field(self, ds: str, path: str, type_: str | None = None) -> str:
        field = f"{ds}:{path}"
        if type_ is not None:
            self._typed.setdefault(ds, set()).add((path, type_))
        self.out.append(NodeUpsert("Field", field, set={"dataset": ds, "name": path},
                                   ranked=_latest(self.at, {"type": type_})))
        self.out.append(RelUpsert("HAS_FIELD", "Dataset", ds, "Field", field))
        return field

    # --- event kinds ---

    def dataset_facets(self, ds: str, facets: Any, pointer: str) -> None:
        schema = self.facet(facets, "schema", pointer)
        if schema is not None:
            self.schema_fields(ds, schema.get("fields"), "")
        symlinks = self.facet(facets, "symlinks", pointer)
        identifiers = symlinks.get("identifiers") if symlinks is not None else None
        for ident in identifiers if isinstance(identifiers, list) else ():
            ref = _ref(ident)
            if ref is None:
                continue
            alias = self.dataset(*ref)
            if alias != ds:
                self.out.append(RelUpsert("ALIAS_OF", "Dataset", alias, "Dataset", ds))
        lineage = self.facet(facets, "columnLineage", pointer)
        if lineage is not None:
            self.column_lineage(ds, lineage)

    def schema_fields(self, ds: str, fields: Any, prefix: str) -> None:
        for f in fields if isinstance(fields, list) else ():
            name = f.get("name") if isinstance(f, dict) else None
            if not isinstance(name, str):
                continue
            path = f"{prefix}.{name}" if prefix else name
            self.field(ds, path, _text(f.get("type")))
            self.schema_fields(ds, f.get("fields"), path)

    def column_lineage(self, ds: str, facet: dict[str, Any]) -> None:
        fields = facet.get("fields")
        for out_name, spec in fields.items() if isinstance(fields, dict) else ():
            if not isinstance(spec, dict):
                continue
            target = self.field(ds, out_name)
            inputs = spec.get("inputFields")
            for inp in inputs if isinstance(inputs, list) else ():
                ref, name = _ref(inp), inp.get("field") if isinstance(inp, dict) else None
                if ref is None or not isinstance(name, str) or not name:
                    continue
                source = self.field(self.dataset(*ref), name)
                self.out.append(RelUpsert("DERIVED_FROM", "Field", target, "Field", source,
                                          set=_transformations(inp.get("transformations"))))

    def inputs_outputs(self, event: dict[str, Any], job: str, run_id: str | None) -> None:
        for side, job_rel, run_rel in (("inputs", "READS", "READ"),
                                       ("outputs", "WRITES", "WROTE")):
            entries = event.get(side)
            for i, entry in enumerate(entries if isinstance(entries, list) else ()):
                ref = _ref(entry)
                if ref is None:
                    continue
                ds = self.dataset(*ref)
                self.out.append(RelUpsert(job_rel, "Job", job, "Dataset", ds,
                                          earliest={"firstSeen": self.at},
                                          latest={"lastSeen": self.at}))
                if run_id is not None:
                    self.out.append(RelUpsert(run_rel, "Run", run_id, "Dataset", ds))
                self.dataset_facets(ds, entry.get("facets"), f"/{side}/{i}/facets")

    def parent(self, run_id: str, job: str, facet: dict[str, Any]) -> None:
        job_obj = facet.get("job")
        parent_job = None
        ref = _ref(job_obj)
        if ref is not None:
            parent_job = self.job(*ref)
            if parent_job != job:
                self.out.append(RelUpsert("PARENT", "Job", job, "Job", parent_job))
        run_obj = facet.get("run")
        parent_run = run_obj.get("runId") if isinstance(run_obj, dict) else None
        if isinstance(parent_run, str) and parent_run and parent_run != run_id:
            self.run(parent_run, parent_job, None, reported=False)
            self.out.append(RelUpsert("PARENT", "Run", run_id, "Run", parent_run))


def _transformations(found: Any) -> dict[str, Value]:
    """One DERIVED_FROM per field pair: its transformations' types and subtypes (sorted,
    comma-separated when several) and whether any of them masks."""
    items = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
    types = sorted({t["type"] for t in items if _text(t.get("type"))})
    subtypes = sorted({t["subtype"] for t in items if _text(t.get("subtype"))})
    return {"transformationType": ",".join(types) or None,
            "transformationSubtype": ",".join(subtypes) or None,
            "masking": any(t.get("masking") is True for t in items)}


def event_changes(event: dict[str, Any], invalid_facets: frozenset[str] = frozenset()
                  ) -> list[Change]:
    """The changes of one stored OpenLineage event (RunEvent, JobEvent or DatasetEvent)."""
    kind, event_time = event_kind_and_time(event)
    m = _EventChanges(utc_datetime(event_time), invalid_facets)
    if kind == "dataset":
        ref = _ref(event["dataset"])
        if ref is None:
            raise ValueError("dataset.namespace and dataset.name are required")
        m.dataset_facets(m.dataset(*ref), event["dataset"].get("facets"), "/dataset/facets")
        return m.changes()
    ref = _ref(event["job"])
    if ref is None:
        raise ValueError("job.namespace and job.name are required")
    job = m.job(*ref, event["job"].get("facets"), "/job/facets")
    run_id = None
    if kind == "run":
        run_id = event["run"].get("runId")
        if not isinstance(run_id, str) or not run_id:
            raise ValueError("run.runId is required")
        event_type = event.get("eventType")
        state = event_type.upper() if isinstance(event_type, str) else None
        m.run(run_id, job, state if state in STATE_RANK else None, reported=True)
        run_facets = event["run"].get("facets")
        for name in ("parent", "parentRun"):
            facet = m.facet(run_facets, name, "/run/facets")
            if facet is not None:
                m.parent(run_id, job, facet)
    m.inputs_outputs(event, job, run_id)
    return m.changes()


def derives(changes: Iterable[Change]) -> bool:
    """Whether the changes write a field derivation (the relink step's FLOWS_TO follows)."""
    return any(isinstance(c, RelUpsert) and c.type == "DERIVED_FROM" for c in changes)


def touched(changes: Iterable[Change]) -> tuple[list[str], list[str]]:
    """Dataset ids and product ids the changes upsert: the relink step's scope."""
    datasets: set[str] = set()
    products: set[str] = set()
    for c in changes:
        if isinstance(c, NodeUpsert):
            if c.label == "Dataset":
                datasets.add(c.id)
            elif c.label == "Product":
                products.add(c.id)
    return sorted(datasets), sorted(products)
