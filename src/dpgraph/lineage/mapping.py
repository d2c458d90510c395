"""Pure mapping of one OpenLineage event to RDF quads (no I/O, no clock, no blank nodes).

Everything an event says goes into its own named graph, ``…/graph/lineage-event/<eventId>``.
The mapping records the facts of *this* event only; whatever depends on several events (a
run's state, start and end, the first and last time an input was seen, a job's current
version) is computed at query time by aggregating over the event graphs. So projecting is
idempotent and independent of arrival order: posting an event twice writes the same graph,
and a START that arrives after the COMPLETE changes nothing about the COMPLETE's graph.

What is recorded (``dpg:`` unless another prefix is given; ``ds`` a dataset, ``v`` the
dataset version a run read or wrote, ``f`` a field):

- the event: ``LineageEvent`` with ``eventTime`` (UTC ``xsd:dateTime``; a time without offset
  is UTC), ``eventType`` (a ``RunState`` concept), ``producer``, ``schemaURL``, ``receivedAt``,
  ``jobVersion`` (see :func:`job_version`), one ``LineageWarning`` node per receiver warning
  (``warningRule``, ``warningField``, ``dct:description``, ``warningValue``), top-level keys
  the event kind does not define as one ``additionalProperties`` JSON literal, and
  ``aboutRun`` / ``aboutJob`` / ``aboutDataset``;
- the run (``dct:identifier`` runId, ``ofJob``), the job (``inNamespace``, ``jobName``),
  namespaces (``dct:identifier``), datasets (``inNamespace``, ``datasetName``,
  ``normalizedLocation`` after :mod:`dpgraph.lineage.naming`);
- inputs and outputs: ``run reads/writes ds``, ``job hasInput/hasOutput ds`` (also for
  JobEvents, which have no run), and for a run ``run readsVersion/writesVersion v``,
  ``v versionOf ds``: the dataset as this run saw it. ``v`` is one node per (run, dataset):
  a run that reads and writes the same dataset has one version node for both;
- facets (see ``_RUN_FACETS``, ``_JOB_FACETS``, ``_DATASET_FACETS``, ``_INPUT_FACETS``,
  ``_OUTPUT_FACETS``): dataset facets describe ``ds``, except the per-run ones
  (``version``, ``lifecycleStateChange``, data quality), which describe ``v``; input and
  output facets describe ``v``. Without a run (DatasetEvent, JobEvent) ``ds`` stands in.
- every other facet, a facet whose JSON pointer the receiver found invalid, a facet marked
  ``_deleted``, and a projected facet holding keys (or value types) the projection does not
  map, is kept whole: ``<node> hasFacet <node>/facet/<name>`` (``inputFacet``/``outputFacet``
  for those slots), a ``LineageFacet`` with ``facetName`` and ``facet`` (an ``rdf:JSON``
  literal of the facet, keys sorted). Only a projected facet's ``_producer`` and
  ``_schemaURL`` are not repeated in the graph (the raw event stays in the log).

Column lineage: per output field and per input field and transformation, a
``ColumnDerivation`` ``d``: ``f_out hasDerivation d``, ``d derivationSource f_in`` with
``transformationType``, ``transformationSubtype``, ``masking`` and ``dct:description``, plus
the unqualified ``f_out derivedFromField f_in`` that column-lineage traversals follow. An input
field listed without transformations (the ColumnLineage 1.0 form) still gets a derivation,
without a type; the deprecated field-level ``transformationType``/``transformationDescription``
are kept on the output field (``fieldTransformationType``, ``fieldTransformationDescription``).
Dataset-level dependencies (the ``dataset`` list of ColumnLineage 1.2: filters, sorts, joins
affecting every row) are derivations too, hung on the output dataset with
``hasDatasetDerivation``, so the field and the transformation they name are kept.

Data quality (``dataQualityMetrics``, ``dataQualityAssertions``) is DQV: each value is a
``dqv:QualityMeasurement`` with ``dqv:computedOn`` (``v``, or the field for column metrics and
column assertions), ``dqv:isMeasurementOf`` a concept of ``LineageMetricScheme`` and
``dqv:value``; an assertion is a measurement of ``AssertionResult`` with a boolean value, its
``assertionType`` (``not_null``…), ``dct:title`` (the test's name) and ``assertionSeverity``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pyoxigraph import Literal, NamedNode, Quad

from dpgraph import jsontext
from dpgraph import vocab as v
from dpgraph.iris import segment
from dpgraph.lineage import iris
from dpgraph.lineage.naming import normalize_location

Obj = NamedNode | Literal


def canonical_json(value: Any) -> str:
    return jsontext.canonical(value)


# Already the form utc_datetime returns (the log's recordedAt always is): only to be checked.
_UTC_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def utc_datetime(value: str) -> str:
    """An RFC 3339 / ISO 8601 date-time as UTC ``xsd:dateTime`` text (microseconds, ``Z``).

    A time without offset is taken as UTC (real producers send those). The same form as the
    ``event_time`` the receiver stores in the log, so both sort alike.
    """
    if _UTC_FORM.fullmatch(value):
        dt.datetime.fromisoformat(value)  # raises ValueError for a day or hour out of range
        return value
    parsed = dt.datetime.fromisoformat(value.strip().upper())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def job_version(namespace: str, name: str, inputs: list[tuple[str, str]],
                outputs: list[tuple[str, str]], source_location: str | None) -> str:
    """Version of a job as one event reports it, after Marquez's job version: a digest of the
    job's identity, its sorted input and output dataset ids and its source code location url.

    Events reporting a partial view (a START without outputs) give another version than the
    COMPLETE of the same run; queries take the version of the terminal events.
    """
    key = canonical_json([namespace, name, sorted(set(inputs)), sorted(set(outputs)),
                          source_location])
    return hashlib.sha256(key.encode()).hexdigest()


# --- value checks shared by the projection and the coverage test -----------------------------


def _is_str(x: Any) -> bool:
    return isinstance(x, str)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _is_bool(x: Any) -> bool:
    return isinstance(x, bool)


def _is_datetime(x: Any) -> bool:
    if not isinstance(x, str):
        return False
    try:
        utc_datetime(x)
    except ValueError:
        return False
    return True


def _decimal(text: str) -> str | None:
    try:
        d = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return format(d, "f") if d.is_finite() else None


def _text(x: Any) -> Literal | None:
    return Literal(x) if isinstance(x, str) and x else None


def _number(x: Any) -> Literal | None:
    return Literal(x) if _is_num(x) else None


def _integer(x: Any) -> Literal | None:
    return Literal(x) if _is_int(x) else None


def _uri(x: Any) -> Literal | None:
    return Literal(x, datatype=v.XSD_ANYURI) if isinstance(x, str) and x else None


def _pointer(base: str, key: str) -> str:
    return f"{base}/{key.replace('~', '~0').replace('/', '~1')}"


def _short_hash(value: Any) -> str:
    return hashlib.sha1(canonical_json(value).encode(), usedforsecurity=False).hexdigest()[:16]


# --- coverage: does the projection of a facet keep everything in it? -------------------------
# A shape is a predicate (leaf), a dict of known keys ("*" for any key), a one-item list (every
# item has that shape) or _NESTED (facets projected by the facet machinery itself). None
# values carry nothing and are always covered; _producer and _schemaURL are facet metadata.

_NESTED = object()
_META = frozenset({"_producer", "_schemaURL"})
Shape = Any


Check = Callable[[Any], bool]


def _always(value: Any) -> bool:
    return True


def _checker(shape: Shape, memo: dict[tuple[int, bool], Check], top: bool = False) -> Check:
    """Whether a value other than None has ``shape`` (``top``: a facet, whose metadata keys are
    skipped), as a function built once per shape: walking the shape on every facet cost more
    than the check. A leaf is its predicate: the callers skip None values."""
    if shape is _NESTED:
        return _always
    if isinstance(shape, list):
        item_check = _checker(shape[0], memo)
        return lambda value: isinstance(value, list) and all(
            item_check(item) for item in value if item is not None)
    if not isinstance(shape, dict):
        return shape
    key = (id(shape), top)
    if key in memo:  # a recursive shape (nested schema fields)
        return memo[key]
    skip = _META if top else frozenset()
    subs: dict[str, Check] = {}
    anykey: Check | None = None

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for k, item in value.items():
            sub = subs.get(k, anykey)
            if (sub is None or (item is not None and not sub(item))) and k not in skip:
                return False
        return True

    memo[key] = check
    subs.update((k, _checker(sub, memo)) for k, sub in shape.items() if k != "*")
    if "*" in shape:
        anykey = _checker(shape["*"], memo)
    return check


_FIELD_SHAPE: dict[str, Shape] = {
    "name": _is_str, "type": _is_str, "description": _is_str, "ordinal_position": _is_int}
_FIELD_SHAPE["fields"] = [_FIELD_SHAPE]
_TRANSFORMATION_SHAPE = {
    "type": _is_str, "subtype": _is_str, "description": _is_str, "masking": _is_bool}
_INPUT_FIELD_SHAPE = {"namespace": _is_str, "name": _is_str, "field": _is_str,
                      "transformations": [_TRANSFORMATION_SHAPE]}
_DQ_METRICS_SHAPE = {
    "rowCount": _is_int, "bytes": _is_int, "fileCount": _is_int, "lastUpdated": _is_datetime,
    "columnMetrics": {"*": {
        "nullCount": _is_num, "distinctCount": _is_num, "sum": _is_num, "count": _is_num,
        "min": _is_num, "max": _is_num, "quantiles": {"*": _is_num}}},
}
_STATISTICS_SHAPE = {"rowCount": _is_int, "size": _is_int, "fileCount": _is_int}
_PARENT_SHAPE = {
    "run": {"runId": _is_str, "facets": _NESTED},
    "job": {"namespace": _is_str, "name": _is_str, "facets": _NESTED},
}
_PARENT_SHAPE["root"] = {"run": _PARENT_SHAPE["run"], "job": _PARENT_SHAPE["job"]}

SHAPES: dict[str, Shape] = {
    "schema": {"fields": [_FIELD_SHAPE]},
    "columnLineage": {
        "fields": {"*": {"inputFields": [_INPUT_FIELD_SHAPE], "transformationDescription": _is_str,
                         "transformationType": _is_str}},
        "dataset": [_INPUT_FIELD_SHAPE],
    },
    "symlinks": {"identifiers": [{"namespace": _is_str, "name": _is_str, "type": _is_str}]},
    "dataSource": {"name": _is_str, "uri": _is_str},
    "ownership": {"owners": [{"name": _is_str, "type": _is_str}]},
    "documentation": {"description": _is_str, "contentType": _is_str},
    "lifecycleStateChange": {"lifecycleStateChange": _is_str,
                             "previousIdentifier": {"namespace": _is_str, "name": _is_str}},
    "storage": {"storageLayer": _is_str, "fileFormat": _is_str},
    "version": {"datasetVersion": _is_str},
    "dataQualityMetrics": _DQ_METRICS_SHAPE,
    "dataQualityAssertions": {"assertions": [{
        "assertion": _is_str, "success": _is_bool, "column": _is_str, "severity": _is_str,
        "name": _is_str, "description": _is_str}]},
    "inputStatistics": _STATISTICS_SHAPE,
    "outputStatistics": _STATISTICS_SHAPE,
    "sql": {"query": _is_str, "dialect": _is_str},
    "jobType": {"processingType": _is_str, "integration": _is_str, "jobType": _is_str},
    "parent": _PARENT_SHAPE,
    "parentRun": _PARENT_SHAPE,
    "errorMessage": {"message": _is_str, "programmingLanguage": _is_str, "stackTrace": _is_str},
    "processing_engine": {"version": _is_str, "name": _is_str,
                          "openlineageAdapterVersion": _is_str},
}

_memo: dict[tuple[int, bool], Check] = {}
_COVERED = {name: _checker(shape, _memo, top=True) for name, shape in SHAPES.items()}
del _memo

_COLUMN_METRICS = (
    ("nullCount", "null-count"), ("distinctCount", "distinct-count"), ("sum", "sum"),
    ("count", "count"), ("min", "min"), ("max", "max"),
)
_KNOWN_KEYS = {
    "run": frozenset({"eventTime", "eventType", "producer", "schemaURL", "run", "job", "inputs",
                      "outputs"}),
    "job": frozenset({"eventTime", "eventType", "producer", "schemaURL", "job", "inputs",
                      "outputs"}),
    "dataset": frozenset({"eventTime", "eventType", "producer", "schemaURL", "dataset"}),
}


@lru_cache(maxsize=8192)  # a dataset's fields recur event after event
def _field(dataset_iri: str, path: str) -> tuple[str, NamedNode]:
    iri = iris.field_iri(dataset_iri, path)
    return iri, NamedNode(iri)


class _Run:
    """A run being described, with its job (for the parent facet's parentJob link)."""

    __slots__ = ("iri", "job", "node")

    def __init__(self, node: NamedNode, job: NamedNode | None) -> None:
        self.node, self.iri, self.job = node, node.value, job


class _Use:
    """A dataset as one event mentions it: the dataset node, and the version node of the run
    (None without a run), which per-run facets describe."""

    __slots__ = ("base", "ds", "ds_iri", "name", "ns", "subject", "subject_iri", "version")

    def __init__(self, ds: NamedNode, ns: str, name: str, version: NamedNode | None,
                 event_iri: str) -> None:
        self.ds, self.ds_iri, self.ns, self.name, self.version = ds, ds.value, ns, name, version
        self.subject = version if version is not None else ds
        self.subject_iri = self.subject.value
        # Measurements of a run hang off its version; without a run, off the event, so that
        # two events' measurements of one dataset never share a node.
        self.base = (self.subject_iri if version is not None
                     else f"{event_iri}/dataset/{segment(ns)}/{segment(name)}")


Handler = Callable[["_Mapper", Any, dict[str, Any], str], None]


def event_kind_and_time(event: dict[str, Any]) -> tuple[str, str]:
    """Whether an event is about a run, a job or a dataset, and its eventTime; raises
    ValueError for what cannot be projected (the receiver refuses it before)."""
    kind = ("run" if isinstance(event.get("run"), dict)
            else "job" if isinstance(event.get("job"), dict)
            else "dataset" if isinstance(event.get("dataset"), dict) else None)
    if kind is None:
        raise ValueError("not an OpenLineage RunEvent, JobEvent or DatasetEvent")
    event_time = event.get("eventTime")
    if not isinstance(event_time, str):
        raise ValueError("eventTime is missing")
    return kind, event_time


class _Mapper:
    def __init__(self, event_id: str, invalid_facets: frozenset[str]) -> None:
        self.graph = iris.event_graph(event_id)
        self.event = iris.event(event_id)
        self.event_iri = self.event.value
        self.invalid = invalid_facets
        self.quads: list[Quad] = []
        self._namespaces: dict[str, NamedNode] = {}
        self._datasets: dict[tuple[str, str], NamedNode] = {}
        self._jobs: dict[tuple[str, str], NamedNode] = {}
        self._runs: dict[str, NamedNode] = {}
        self._schema_fields: set[str] = set()
        self._ref_fields: set[str] = set()  # fields named by reference
        self._column_lineage: list[tuple[_Use, dict[str, Any]]] = []
        self._raw: dict[str, str] = {}

    def add(self, s: NamedNode, p: NamedNode, o: Obj | None) -> None:
        if o is not None:
            self.quads.append(Quad(s, p, o, self.graph))

    # --- identities -----------------------------------------------------------------------

    def namespace(self, ns: str) -> NamedNode:
        node = self._namespaces.get(ns)
        if node is None:
            node = self._namespaces[ns] = iris.namespace(ns)
            self.add(node, v.RDF_TYPE, v.LINEAGE_NAMESPACE)
            self.add(node, v.DCT_IDENTIFIER, Literal(ns))
        return node

    def dataset(self, ns: str, name: str) -> NamedNode:
        node = self._datasets.get((ns, name))
        if node is None:
            node = self._datasets[(ns, name)] = iris.dataset(ns, name)
            self.add(node, v.RDF_TYPE, v.LINEAGE_DATASET)
            self.add(node, v.IN_NAMESPACE, self.namespace(ns))
            self.add(node, v.DATASET_NAME, Literal(name))
            self.add(node, v.NORMALIZED_LOCATION, _text(normalize_location(ns, name)))
        return node

    def job(self, ns: str, name: str) -> NamedNode:
        node = self._jobs.get((ns, name))
        if node is None:
            node = self._jobs[(ns, name)] = iris.job(ns, name)
            self.add(node, v.RDF_TYPE, v.JOB)
            self.add(node, v.IN_NAMESPACE, self.namespace(ns))
            self.add(node, v.JOB_NAME, Literal(name))
        return node

    def run(self, run_id: str) -> NamedNode:
        node = self._runs.get(run_id)
        if node is None:
            node = self._runs[run_id] = iris.run(run_id)
            self.add(node, v.RDF_TYPE, v.RUN)
            self.add(node, v.DCT_IDENTIFIER, Literal(run_id))
        return node

    def dataset_ref(self, ref: Any) -> NamedNode | None:
        """The dataset of a {namespace, name} object, or None when it names none."""
        if not isinstance(ref, dict):
            return None
        ns, name = ref.get("namespace"), ref.get("name")
        if not (isinstance(ns, str) and isinstance(name, str) and ns and name):
            return None
        return self.dataset(ns, name)

    def field(self, ds: NamedNode, path: str) -> NamedNode:
        """A field named by reference (column lineage, metrics) rather than by a schema."""
        field_iri, node = _field(ds.value, path)
        if field_iri in self._ref_fields:  # named before: nothing to add (nor since a schema)
            return node
        self._ref_fields.add(field_iri)
        self.add(node, v.RDF_TYPE, v.FIELD)
        self.add(ds, v.HAS_FIELD, node)
        if field_iri not in self._schema_fields:
            self.add(node, v.FIELD_NAME, Literal(path))
        return node

    # --- the event ------------------------------------------------------------------------

    def map(self, event: dict[str, Any], received_at: str,
            warnings: list[dict[str, Any]] | None) -> None:
        ev = self.event
        kind, event_time = event_kind_and_time(event)
        self.add(ev, v.RDF_TYPE, v.LINEAGE_EVENT)
        self.add(ev, v.EVENT_TIME, Literal(utc_datetime(event_time), datatype=v.XSD_DATETIME))
        self.add(ev, v.RECEIVED_AT, Literal(utc_datetime(received_at), datatype=v.XSD_DATETIME))
        event_type = event.get("eventType")
        if isinstance(event_type, str):
            self.add(ev, v.EVENT_TYPE, v.RUN_STATES.get(event_type.upper()))
        self.add(ev, v.PRODUCER, _uri(event.get("producer")))
        self.add(ev, v.SCHEMA_URL, _uri(event.get("schemaURL")))
        for i, warning in enumerate(warnings or ()):
            self.warning(i, warning)
        known = _KNOWN_KEYS[kind]
        extra = {k: val for k, val in event.items() if k not in known}
        if extra:
            self.add(ev, v.ADDITIONAL_PROPERTIES, Literal(canonical_json(extra),
                                                          datatype=v.RDF_JSON))
        if kind == "dataset":
            self.dataset_event(event["dataset"])
        else:
            self.job_or_run_event(event, kind)
        for use, facet in self._column_lineage:  # after every schema, so names are known
            self.column_lineage(use, facet)

    def warning(self, i: int, warning: dict[str, Any]) -> None:
        node = NamedNode(f"{self.event_iri}/warning/{i}")
        self.add(self.event, v.HAS_WARNING, node)
        self.add(node, v.RDF_TYPE, v.LINEAGE_WARNING)
        self.add(node, v.WARNING_RULE, _text(warning.get("rule")))
        self.add(node, v.WARNING_FIELD, _text(warning.get("field", warning.get("pointer"))))
        self.add(node, v.DCT_DESCRIPTION, _text(warning.get("message")))
        self.add(node, v.WARNING_VALUE, _text(warning.get("value")))

    def dataset_event(self, dataset: dict[str, Any]) -> None:
        ds = self.dataset_ref(dataset)
        if ds is None:
            raise ValueError("dataset.namespace and dataset.name are required")
        self.add(self.event, v.ABOUT_DATASET, ds)
        use = _Use(ds, dataset["namespace"], dataset["name"], None, self.event_iri)
        self.facets(use.ds, dataset.get("facets"), "/dataset/facets", "facet", _DATASET_FACETS,
                    use)

    def job_or_run_event(self, event: dict[str, Any], kind: str) -> None:
        job_obj = event["job"]
        ns, name = job_obj.get("namespace"), job_obj.get("name")
        if not (isinstance(ns, str) and isinstance(name, str)):
            raise ValueError("job.namespace and job.name are required")
        job = self.job(ns, name)
        self.add(self.event, v.ABOUT_JOB, job)
        run: _Run | None = None
        run_id: str | None = None
        if kind == "run":
            run_id = event["run"].get("runId")
            if not isinstance(run_id, str) or not run_id:
                raise ValueError("run.runId is required")
            run = _Run(self.run(run_id), job)
            self.add(self.event, v.ABOUT_RUN, run.node)
            self.add(run.node, v.OF_JOB, job)
            self.facets(run.node, event["run"].get("facets"), "/run/facets", "facet",
                        _RUN_FACETS, run)
        job_facets = job_obj.get("facets")
        self.facets(job, job_facets, "/job/facets", "facet", _JOB_FACETS, job)
        seen: dict[str, list[tuple[str, str]]] = {"inputs": [], "outputs": []}
        for side in ("inputs", "outputs"):
            entries = event.get(side)
            if not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                ds = self.dataset_ref(entry)
                if ds is None:
                    continue
                dns, dname = entry["namespace"], entry["name"]
                seen[side].append((dns, dname))
                self.dataset_use(entry, ds, dns, dname, side, i, job, run, run_id)
        location = None
        if isinstance(job_facets, dict) and isinstance(job_facets.get("sourceCodeLocation"), dict):
            url = job_facets["sourceCodeLocation"].get("url")
            location = url if isinstance(url, str) else None
        self.add(self.event, v.JOB_VERSION,
                 Literal(job_version(ns, name, seen["inputs"], seen["outputs"], location)))

    def dataset_use(self, entry: dict[str, Any], ds: NamedNode, ns: str, name: str, side: str,
                    i: int, job: NamedNode, run: _Run | None, run_id: str | None) -> None:
        is_input = side == "inputs"
        self.add(job, v.HAS_INPUT if is_input else v.HAS_OUTPUT, ds)
        version = None
        if run is not None and run_id is not None:
            version = iris.dataset_version(run_id, ns, name)
            self.add(run.node, v.READS if is_input else v.WRITES, ds)
            self.add(run.node, v.READS_VERSION if is_input else v.WRITES_VERSION, version)
            self.add(version, v.RDF_TYPE, v.DATASET_VERSION)
            self.add(version, v.VERSION_OF, ds)
        use = _Use(ds, ns, name, version, self.event_iri)
        base = f"/{side}/{i}"
        self.facets(ds, entry.get("facets"), f"{base}/facets", "facet", _DATASET_FACETS, use)
        if is_input:
            self.facets(use.subject, entry.get("inputFacets"), f"{base}/inputFacets",
                        "inputFacet", _INPUT_FACETS, use)
        else:
            self.facets(use.subject, entry.get("outputFacets"), f"{base}/outputFacets",
                        "outputFacet", _OUTPUT_FACETS, use)

    # --- facets ---------------------------------------------------------------------------

    def facets(self, subject: NamedNode, facets: Any, pointer: str, slot: str,
               table: dict[str, Handler], arg: Any) -> None:
        if not isinstance(facets, dict):
            return
        for name, facet in facets.items():
            ptr = _pointer(pointer, name)
            handler = table.get(name)
            if (handler is None or ptr in self.invalid or not isinstance(facet, dict)
                    or facet.get("_deleted") is True):
                self.raw(subject, slot, name, facet)
                continue
            handler(self, arg, facet, ptr)
            if not _COVERED[name](facet):
                self.raw(subject, slot, name, facet)

    def raw(self, subject: NamedNode, slot: str, name: str, facet: Any) -> None:
        text = canonical_json(facet)
        iri = base = f"{subject.value}/{slot}/{segment(name)}"
        n = 1
        while self._raw.setdefault(iri, text) != text:  # a dataset listed twice, other facets
            n += 1
            iri = f"{base}/{n}"
        node = NamedNode(iri)
        self.add(subject, v.HAS_FACET, node)
        self.add(node, v.RDF_TYPE, v.LINEAGE_FACET)
        self.add(node, v.FACET_NAME, Literal(name))
        self.add(node, v.FACET, Literal(text, datatype=v.RDF_JSON))

    # run facets

    def parent(self, run: _Run, facet: dict[str, Any], ptr: str) -> None:
        for holder, pointer, run_link, job_link in (
                (facet, ptr, v.PARENT_RUN, v.PARENT_JOB),
                (facet.get("root"), f"{ptr}/root", v.ROOT_RUN, v.ROOT_JOB)):
            if not isinstance(holder, dict):
                continue
            other_run, other_job = self._run_and_job(holder, pointer)
            if other_job is not None and run.job is not None and other_job != run.job:
                self.add(run.job, job_link, other_job)
            if other_run is not None and other_run != run.node:
                self.add(run.node, run_link, other_run)

    def _run_and_job(self, holder: dict[str, Any], ptr: str
                     ) -> tuple[NamedNode | None, NamedNode | None]:
        """The run and job a parent (or root) object names, with their forwarded facets."""
        job = None
        job_obj = holder.get("job")
        if isinstance(job_obj, dict):
            ns, name = job_obj.get("namespace"), job_obj.get("name")
            if isinstance(ns, str) and isinstance(name, str) and ns and name:
                job = self.job(ns, name)
                self.facets(job, job_obj.get("facets"), f"{ptr}/job/facets", "facet",
                            _JOB_FACETS, job)
        run_obj = holder.get("run")
        run_id = run_obj.get("runId") if isinstance(run_obj, dict) else None
        if not isinstance(run_id, str) or not run_id:
            return None, job
        run = _Run(self.run(run_id), job)
        self.add(run.node, v.OF_JOB, job)
        self.facets(run.node, run_obj.get("facets"), f"{ptr}/run/facets", "facet",
                    _RUN_FACETS, run)
        return run.node, job

    def error_message(self, run: _Run, facet: dict[str, Any], ptr: str) -> None:
        self.add(run.node, v.ERROR_MESSAGE, _text(facet.get("message")))
        self.add(run.node, v.PROGRAMMING_LANGUAGE, _text(facet.get("programmingLanguage")))
        self.add(run.node, v.STACK_TRACE, _text(facet.get("stackTrace")))

    def processing_engine(self, run: _Run, facet: dict[str, Any], ptr: str) -> None:
        self.add(run.node, v.PROCESSING_ENGINE_NAME, _text(facet.get("name")))
        self.add(run.node, v.PROCESSING_ENGINE_VERSION, _text(facet.get("version")))
        self.add(run.node, v.OPENLINEAGE_ADAPTER_VERSION,
                 _text(facet.get("openlineageAdapterVersion")))

    # job facets (ownership and documentation serve datasets too)

    def ownership(self, subject: NamedNode | _Use, facet: dict[str, Any], ptr: str) -> None:
        node = subject.ds if isinstance(subject, _Use) else subject
        owners = facet.get("owners")
        if not isinstance(owners, list):
            return
        for owner in owners:
            name = owner.get("name") if isinstance(owner, dict) else None
            if not isinstance(name, str) or not name:
                continue
            ownership = NamedNode(f"{node.value}/owner/{segment(name)}")
            self.add(node, v.HAS_OWNERSHIP, ownership)
            self.add(ownership, v.RDF_TYPE, v.LINEAGE_OWNERSHIP)
            self.add(ownership, v.OWNER_NAME, Literal(name))
            self.add(ownership, v.OWNERSHIP_TYPE, _text(owner.get("type")))

    def documentation(self, subject: NamedNode | _Use, facet: dict[str, Any], ptr: str) -> None:
        node = subject.ds if isinstance(subject, _Use) else subject
        self.add(node, v.DCT_DESCRIPTION, _text(facet.get("description")))
        self.add(node, v.DESCRIPTION_MEDIA_TYPE, _text(facet.get("contentType")))

    def sql(self, job: NamedNode, facet: dict[str, Any], ptr: str) -> None:
        self.add(job, v.SQL_QUERY, _text(facet.get("query")))
        self.add(job, v.SQL_DIALECT, _text(facet.get("dialect")))

    def job_type(self, job: NamedNode, facet: dict[str, Any], ptr: str) -> None:
        self.add(job, v.PROCESSING_TYPE, _text(facet.get("processingType")))
        self.add(job, v.INTEGRATION, _text(facet.get("integration")))
        self.add(job, v.JOB_TYPE, _text(facet.get("jobType")))

    # dataset facets

    def schema(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self._fields(use, facet.get("fields"), None, "")

    def _fields(self, use: _Use, fields: Any, parent: NamedNode | None, prefix: str) -> None:
        if not isinstance(fields, list):
            return
        for index, f in enumerate(fields):
            name = f.get("name") if isinstance(f, dict) else None
            if not isinstance(name, str):
                continue
            path = f"{prefix}.{name}" if parent is not None else name
            field_iri, node = _field(use.ds_iri, path)
            self._schema_fields.add(field_iri)
            self.add(node, v.RDF_TYPE, v.FIELD)
            self.add(use.ds, v.HAS_FIELD, node)
            self.add(node, v.FIELD_NAME, Literal(name))
            self.add(node, v.FIELD_TYPE, _text(f.get("type")))
            self.add(node, v.DCT_DESCRIPTION, _text(f.get("description")))
            self.add(node, v.ORDINAL_POSITION, _integer(f.get("ordinal_position")))
            self.add(node, v.FIELD_INDEX, Literal(index))
            if parent is not None:
                self.add(node, v.SUBFIELD_OF, parent)
            # The run's version, or the dataset itself in an event without a run, so that
            # schema fields stay apart from fields only column lineage names.
            self.add(use.subject, v.HAS_SCHEMA_FIELD, node)
            self._fields(use, f.get("fields"), node, path)

    def defer_column_lineage(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self._column_lineage.append((use, facet))

    def column_lineage(self, use: _Use, facet: dict[str, Any]) -> None:
        fields = facet.get("fields")
        if isinstance(fields, dict):
            for out_name, spec in fields.items():
                if not isinstance(spec, dict):
                    continue
                out = self.field(use.ds, out_name)
                self.add(out, v.FIELD_TRANSFORMATION_TYPE, _text(spec.get("transformationType")))
                self.add(out, v.FIELD_TRANSFORMATION_DESCRIPTION,
                         _text(spec.get("transformationDescription")))
                inputs = spec.get("inputFields")
                for inp in inputs if isinstance(inputs, list) else ():
                    source = self._source_field(inp)
                    if source is None:
                        continue
                    self.add(out, v.DERIVED_FROM_FIELD, source)
                    for d in self._derivations(out.value, source, inp):
                        self.add(out, v.HAS_DERIVATION, d)
        dataset = facet.get("dataset")
        for inp in dataset if isinstance(dataset, list) else ():
            source = self._source_field(inp)
            if source is not None:
                for d in self._derivations(use.ds_iri, source, inp):
                    self.add(use.ds, v.HAS_DATASET_DERIVATION, d)

    def _source_field(self, inp: Any) -> NamedNode | None:
        ds = self.dataset_ref(inp)
        name = inp.get("field") if ds is not None else None
        if not isinstance(name, str) or not name:
            return None
        return self.field(ds, name)

    def _derivations(self, owner: str, source: NamedNode, inp: dict[str, Any]) -> list[NamedNode]:
        found = inp.get("transformations")
        items = [t for t in found if isinstance(t, dict)] if isinstance(found, list) else []
        nodes = []
        for t in items or [{}]:
            kind, subtype = t.get("type"), t.get("subtype")
            masking, description = t.get("masking"), t.get("description")
            d = NamedNode(f"{owner}/derivation/"
                          f"{_short_hash([source.value, kind, subtype, masking, description])}")
            self.add(d, v.RDF_TYPE, v.COLUMN_DERIVATION)
            self.add(d, v.DERIVATION_SOURCE, source)
            self.add(d, v.TRANSFORMATION_TYPE, _text(kind))
            self.add(d, v.TRANSFORMATION_SUBTYPE, _text(subtype))
            self.add(d, v.MASKING, Literal(masking) if _is_bool(masking) else None)
            self.add(d, v.DCT_DESCRIPTION, _text(description))
            nodes.append(d)
        return nodes

    def symlinks(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        identifiers = facet.get("identifiers")
        for ident in identifiers if isinstance(identifiers, list) else ():
            alias = self.dataset_ref(ident)
            if alias is None or alias == use.ds:
                continue
            self.add(alias, v.ALIAS_OF, use.ds)
            self.add(alias, v.SYMLINK_TYPE, _text(ident.get("type")))

    def data_source(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self.add(use.ds, v.DATA_SOURCE_NAME, _text(facet.get("name")))
        self.add(use.ds, v.DATA_SOURCE_URI, _uri(facet.get("uri")))

    def lifecycle_state_change(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self.add(use.subject, v.LIFECYCLE_STATE_CHANGE, _text(facet.get("lifecycleStateChange")))
        previous = self.dataset_ref(facet.get("previousIdentifier"))
        self.add(use.subject, v.PREVIOUS_IDENTITY, previous)

    def storage(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self.add(use.ds, v.TABLE_FORMAT, _text(facet.get("storageLayer")))
        self.add(use.ds, v.FILE_FORMAT, _text(facet.get("fileFormat")))

    def dataset_version(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self.add(use.subject, v.DATASET_VERSION_OF, _text(facet.get("datasetVersion")))

    def statistics(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        self.add(use.subject, v.ROW_COUNT, _integer(facet.get("rowCount")))
        self.add(use.subject, v.BYTE_SIZE, _integer(facet.get("size")))
        self.add(use.subject, v.FILE_COUNT, _integer(facet.get("fileCount")))

    def measurement(self, iri: str, metric: str, on: NamedNode, value: Literal | None
                    ) -> NamedNode | None:
        if value is None:
            return None
        node = NamedNode(iri)
        self.add(node, v.RDF_TYPE, v.DQV_QUALITY_MEASUREMENT)
        self.add(node, v.DQV_IS_MEASUREMENT_OF, v.LINEAGE_METRICS[metric])
        self.add(node, v.DQV_COMPUTED_ON, on)
        self.add(node, v.DQV_VALUE, value)
        return node

    def quality_metrics(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        base = f"{use.base}/measurement"
        self.measurement(f"{base}/row-count", "row-count", use.subject,
                         _integer(facet.get("rowCount")))
        self.measurement(f"{base}/byte-size", "byte-size", use.subject,
                         _integer(facet.get("bytes")))
        self.measurement(f"{base}/file-count", "file-count", use.subject,
                         _integer(facet.get("fileCount")))
        last = facet.get("lastUpdated")
        if _is_datetime(last):
            self.add(use.subject, v.DCT_MODIFIED,
                     Literal(utc_datetime(last), datatype=v.XSD_DATETIME))
        columns = facet.get("columnMetrics")
        for column, metrics in columns.items() if isinstance(columns, dict) else ():
            if not isinstance(metrics, dict):
                continue
            field = self.field(use.ds, column)
            col_base = f"{base}/column/{segment(column)}"
            for key, metric in _COLUMN_METRICS:
                self.measurement(f"{col_base}/{metric}", metric, field, _number(metrics.get(key)))
            quantiles = metrics.get("quantiles")
            for q, value in quantiles.items() if isinstance(quantiles, dict) else ():
                node = self.measurement(f"{col_base}/quantile/{segment(q)}", "quantile", field,
                                        _number(value))
                level = _decimal(q)
                if node is not None and level is not None:
                    self.add(node, v.QUANTILE_LEVEL, Literal(level, datatype=v.XSD_DECIMAL))

    def quality_assertions(self, use: _Use, facet: dict[str, Any], ptr: str) -> None:
        assertions = facet.get("assertions")
        counts: dict[str, int] = {}
        for a in assertions if isinstance(assertions, list) else ():
            if not isinstance(a, dict):
                continue
            kind, column, name = a.get("assertion"), a.get("column"), a.get("name")
            tail = f"{use.base}/assertion/{segment(kind if isinstance(kind, str) else '')}"
            if isinstance(column, str) and column:
                tail += f"/column/{segment(column)}"
            if isinstance(name, str) and name:
                tail += f"/name/{segment(name)}"
            counts[tail] = n = counts.get(tail, 0) + 1
            if n > 1:  # the same test listed twice: keep both
                tail += f"/{n}"
            on = self.field(use.ds, column) if isinstance(column, str) and column else use.subject
            success = a.get("success")
            node = NamedNode(tail)
            self.add(node, v.RDF_TYPE, v.DQV_QUALITY_MEASUREMENT)
            self.add(node, v.DQV_IS_MEASUREMENT_OF, v.LINEAGE_METRICS["assertion"])
            self.add(node, v.DQV_COMPUTED_ON, on)
            self.add(node, v.DQV_VALUE, Literal(success) if _is_bool(success) else None)
            self.add(node, v.ASSERTION_TYPE, _text(kind))
            self.add(node, v.DCT_TITLE, _text(name))
            self.add(node, v.ASSERTION_SEVERITY, _text(a.get("severity")))
            self.add(node, v.DCT_DESCRIPTION, _text(a.get("description")))


_RUN_FACETS: dict[str, Handler] = {
    "parent": _Mapper.parent,
    "parentRun": _Mapper.parent,  # the name early Airflow integrations used
    "errorMessage": _Mapper.error_message,
    "processing_engine": _Mapper.processing_engine,
}
_JOB_FACETS: dict[str, Handler] = {
    "ownership": _Mapper.ownership,
    "documentation": _Mapper.documentation,
    "sql": _Mapper.sql,
    "jobType": _Mapper.job_type,
}
_DATASET_FACETS: dict[str, Handler] = {
    "schema": _Mapper.schema,
    "columnLineage": _Mapper.defer_column_lineage,
    "symlinks": _Mapper.symlinks,
    "dataSource": _Mapper.data_source,
    "ownership": _Mapper.ownership,
    "documentation": _Mapper.documentation,
    "lifecycleStateChange": _Mapper.lifecycle_state_change,
    "storage": _Mapper.storage,
    "version": _Mapper.dataset_version,
    "dataQualityMetrics": _Mapper.quality_metrics,
    "dataQualityAssertions": _Mapper.quality_assertions,
}
_INPUT_FACETS: dict[str, Handler] = {
    "dataQualityMetrics": _Mapper.quality_metrics,
    "dataQualityAssertions": _Mapper.quality_assertions,
    "inputStatistics": _Mapper.statistics,
}
_OUTPUT_FACETS: dict[str, Handler] = {
    "outputStatistics": _Mapper.statistics,
}
PROJECTED_FACETS = {
    "run": frozenset(_RUN_FACETS), "job": frozenset(_JOB_FACETS),
    "dataset": frozenset(_DATASET_FACETS), "input": frozenset(_INPUT_FACETS),
    "output": frozenset(_OUTPUT_FACETS),
}


def event_to_quads(event: dict[str, Any], *, event_id: str, received_at: str,
                   warnings: list[dict[str, Any]] | None = None,
                   invalid_facets: frozenset[str] = frozenset()) -> list[Quad]:
    """The quads of one validated OpenLineage event, all in the event's own named graph.

    ``event_id`` is the sha256 of the event's canonical JSON; ``received_at`` when the receiver
    accepted it; ``warnings`` the receiver's findings on it (``rule``, ``field``, ``message``,
    ``value``); ``invalid_facets`` the JSON pointers (``/run/facets/parent``,
    ``/inputs/0/facets/schema``) of facets that failed their own schema: those are kept raw.
    Raises ValueError only for what the receiver refuses anyway (no run id, job or dataset
    identity, or eventTime). Same input, same list of quads, in the same order.
    """
    mapper = _Mapper(event_id, invalid_facets)
    mapper.map(event, received_at, warnings)
    return list(dict.fromkeys(mapper.quads))


_PARENT_FACETS = ("parent", "parentRun")


def job_quads(event: dict[str, Any], *, event_id: str,
              invalid_facets: frozenset[str] = frozenset()) -> list[Quad]:
    """The part of ``event_to_quads`` that describes jobs, for the in-memory job catalog:
    the event's job with its facets, and the parent and root jobs its run's parent facet
    names (typed, with the job facets forwarded there, and the ``parentJob`` link). The
    dataset sides, the other run facets and the event node are left out, which makes it a
    small fraction of the full mapping's cost. Raises ValueError as ``event_to_quads`` does."""
    kind, _ = event_kind_and_time(event)
    if kind == "dataset":
        return []
    mapper = _Mapper(event_id, invalid_facets)
    job_obj = event["job"]
    ns, name = job_obj.get("namespace"), job_obj.get("name")
    if not (isinstance(ns, str) and isinstance(name, str)):
        raise ValueError("job.namespace and job.name are required")
    job = mapper.job(ns, name)
    if kind == "run":
        run_id = event["run"].get("runId")
        if not isinstance(run_id, str) or not run_id:
            raise ValueError("run.runId is required")
        facets = event["run"].get("facets")
        if isinstance(facets, dict):
            parents = {k: facets[k] for k in _PARENT_FACETS if k in facets}
            mapper.facets(mapper.run(run_id), parents, "/run/facets", "facet", _RUN_FACETS,
                          _Run(mapper.run(run_id), job))
    mapper.facets(job, job_obj.get("facets"), "/job/facets", "facet", _JOB_FACETS, job)
    return list(dict.fromkeys(mapper.quads))
