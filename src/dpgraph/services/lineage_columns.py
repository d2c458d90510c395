"""Marquez's column-lineage graph over the field derivations the projection records
(``dpg:hasDerivation`` / ``dpg:derivationSource`` from the columnLineage facet, with the
unqualified ``dpg:derivedFromField`` for downstream walks). Fields of aliased datasets
(symlinks) answer as the field of the canonical dataset; one lookup per level and direction.

The facts come from a :class:`ColumnSource`: :class:`SparqlColumns` reads the store, and
:class:`~dpgraph.services.column_lineage_index.ColumnLineageIndex` (the current view kept in
memory) answers the same three questions without a query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from dpgraph.lineage import iris
from dpgraph.services.lineage_graph import (
    PREFIXES,
    Select,
    chunks,
    field_node_id,
    field_of,
    values,
)

# (output field, source field, transformationType, transformationSubtype, description, masking)
DerivationRow = tuple[str, str, str | None, str | None, str | None, str | None]


class ColumnAliases(Protocol):
    def canonical(self, dataset: str) -> str: ...

    def members(self, canonical: str) -> frozenset[str]: ...

    def resolve(self, datasets: Iterable[str]) -> None: ...


class ColumnSource(Protocol):
    """The field facts the graph is built from, over field IRIs as the events name them."""

    def derivation_rows(self, fields: Iterable[str]) -> list[DerivationRow]:
        """The distinct derivations of the given output fields."""
        ...

    def derived_from(self, sources: Iterable[str]) -> set[str]:
        """The fields derived from any of ``sources``."""
        ...

    def info_rows(self, fields: Iterable[str]) -> list[tuple[str, str, str]]:
        """(field, "kind" | "desc" | "type", value): fieldTransformationType,
        fieldTransformationDescription and fieldType values of the given fields."""
        ...


class SparqlColumns:
    """:class:`ColumnSource` over the event graphs, one query per slice of fields."""

    def __init__(self, select: Select) -> None:
        self._select = select

    def derivation_rows(self, fields: Iterable[str]) -> list[DerivationRow]:
        rows: list[DerivationRow] = []
        for batch in chunks(fields):
            rows += [(r["out"].value, r["src"].value,
                      *(r[k].value if r[k] is not None else None
                        for k in ("type", "subtype", "desc", "masking")))  # type: ignore[misc]
                     for r in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?out ?src ?type ?subtype ?desc ?masking WHERE {{
                    {values("out", batch)}
                    ?out dpg:hasDerivation ?d . ?d dpg:derivationSource ?src .
                    OPTIONAL {{ ?d dpg:transformationType ?type }}
                    OPTIONAL {{ ?d dpg:transformationSubtype ?subtype }}
                    OPTIONAL {{ ?d dct:description ?desc }}
                    OPTIONAL {{ ?d dpg:masking ?masking }} }}""")]
        return rows

    def derived_from(self, sources: Iterable[str]) -> set[str]:
        outs: set[str] = set()
        for batch in chunks(sources):
            outs |= {r["out"].value for r in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?out WHERE {{ {values("src", batch)}
                    ?out dpg:derivedFromField ?src }}""")}
        return outs

    def info_rows(self, fields: Iterable[str]) -> list[tuple[str, str, str]]:
        rows = []
        for batch in chunks(fields):
            rows += [(row["f"].value, row["k"].value, row["x"].value) for row in self._select(
                f"""{PREFIXES}
                SELECT DISTINCT ?f ?k ?x WHERE {{ {values("f", batch)}
                    {{ ?f dpg:fieldTransformationType ?x BIND("kind" AS ?k) }}
                    UNION {{ ?f dpg:fieldTransformationDescription ?x BIND("desc" AS ?k) }}
                    UNION {{ ?f dpg:fieldType ?x BIND("type" AS ?k) }} }}""")]
        return rows


_ORDER = ("namespace", "dataset", "field", "transformationType", "transformationSubtype",
          "transformationDescription")


def _input_order(entry: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(entry[k] or "") for k in _ORDER)


class ColumnGraph:
    """Marquez's column-lineage graph: ``datasetField`` nodes, edges from each input field
    to the field derived from it (origin → destination is the direction data flows)."""

    def __init__(self, source: ColumnSource, aliases: ColumnAliases) -> None:
        self._source = source
        self._aliases = aliases
        # canonical field -> its input fields (entries of the answer) and their canonical IRIs
        self._derivations: dict[str, list[dict[str, Any]]] = {}
        self._sources: dict[str, list[str]] = {}
        self._canonical: dict[str, str] = {}

    def canonical(self, field: str) -> str:
        found = self._canonical.get(field)
        if found is None:
            ns, name, path = field_of(field)
            ds = iris.dataset_iri(ns, name)
            canon = self._aliases.canonical(ds)
            # IRIs are minted by iris.field_iri, so the field of an unaliased dataset is itself
            found = field if canon == ds else iris.field_iri(canon, path)
            self._canonical[field] = found
        return found

    def variants(self, fields: Iterable[str]) -> dict[str, str]:
        """Each field's IRI in every dataset of its alias component -> canonical field."""
        out = {}
        for f in fields:
            ns, name, path = field_of(f)
            members = self._aliases.members(self._aliases.canonical(iris.dataset_iri(ns, name)))
            if len(members) == 1:
                out[f] = f
                continue
            for m in members:
                out[iris.field_iri(m, path)] = f
        return out

    def _resolve_fields(self, fields: Iterable[str]) -> None:
        self._aliases.resolve({iris.dataset_iri(*field_of(f)[:2]) for f in fields})

    def fetch(self, fields: Iterable[str]) -> None:
        """Derivations (input fields and transformations) of canonical fields."""
        todo = [f for f in fields if f not in self._derivations]
        var = self.variants(todo)
        rows = self._source.derivation_rows(var)
        self._resolve_fields({r[1] for r in rows})
        found: dict[str, dict[tuple[Any, ...], tuple[dict[str, Any], str]]] = {
            f: {} for f in todo}
        for out, src, kind, subtype, desc, masking in sorted(rows, key=str):
            source = self.canonical(src)
            sns, sname, spath = field_of(source)
            key = (sns, sname, spath, desc, kind, subtype, masking)
            entries = found[var[out]]
            if key in entries:
                continue
            entry = {"namespace": sns, "dataset": sname, "field": spath,
                     "transformationDescription": desc, "transformationType": kind,
                     "transformationSubtype": subtype}
            if masking is not None:
                entry["masking"] = masking == "true"
            entries[key] = (entry, source)
        for f in todo:
            pairs = sorted(found[f].values(), key=lambda p: _input_order(p[0]))
            self._derivations[f] = [entry for entry, _ in pairs]
            self._sources[f] = [source for _, source in pairs]

    def downstream(self, fields: Iterable[str]) -> set[str]:
        outs = self._source.derived_from(self.variants(fields))
        self._resolve_fields(outs)
        return {self.canonical(o) for o in outs}

    def build(self, starts: set[str], depth: int, with_downstream: bool) -> list[Any]:
        self._resolve_fields(starts)
        starts = {self.canonical(f) for f in starts}
        nodes = set(starts)
        frontier = set(starts)
        for _ in range(depth):  # upstream
            self.fetch(frontier)
            frontier = {s for f in frontier for s in self._sources[f]} - nodes
            nodes |= frontier
            if not frontier:
                break
        if with_downstream:
            frontier = set(starts)
            for _ in range(depth):
                frontier = self.downstream(frontier) - nodes
                nodes |= frontier
                if not frontier:
                    break
        self.fetch(nodes)
        info = self._field_info(nodes)
        node_ids = {f: field_node_id(f) for f in nodes}
        ins: dict[str, dict[str, dict[str, str]]] = {f: {} for f in nodes}
        outs: dict[str, list[dict[str, str]]] = {f: [] for f in nodes}
        for f in nodes:
            destination, into = node_ids[f], ins[f]
            for src in self._sources[f]:
                if src in nodes:
                    origin = node_ids[src]
                    if origin not in into:
                        edge = into[origin] = {"origin": origin, "destination": destination}
                        outs[src].append(edge)
        graph = []
        for f in nodes:
            ns, name, path = field_of(f)
            kind, desc, ftype = info.get(f, (None, None, None))
            graph.append({
                "id": node_ids[f], "type": "DATASET_FIELD",
                "data": {"namespace": ns, "dataset": name, "field": path, "fieldType": ftype,
                         "transformationDescription": desc, "transformationType": kind,
                         "inputFields": self._derivations[f]},
                "inEdges": sorted(ins[f].values(), key=_edge_key),
                "outEdges": sorted(outs[f], key=_edge_key)})
        return sorted(graph, key=lambda n: n["id"])

    def _field_info(self, fields: set[str]) -> dict[str, tuple[Any, Any, Any]]:
        """Field-level transformation type and description (ColumnLineage 1.0) and type."""
        var = self.variants(fields)
        info: dict[str, dict[str, str]] = {}
        for f, key, value in self._source.info_rows(var):
            slot = info.setdefault(var[f], {})
            slot[key] = max(value, slot.get(key, value))
        return {f: (i.get("kind"), i.get("desc"), i.get("type")) for f, i in info.items()}


def _edge_key(edge: dict[str, str]) -> tuple[str, str]:
    return edge["origin"], edge["destination"]
