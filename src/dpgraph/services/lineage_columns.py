"""Marquez's column-lineage graph over the field derivations the projection records
(``dpg:hasDerivation`` / ``dpg:derivationSource`` from the columnLineage facet, with the
unqualified ``dpg:derivedFromField`` for downstream walks). Fields of aliased datasets
(symlinks) answer as the field of the canonical dataset; one query per level and direction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dpgraph.lineage import iris
from dpgraph.services.lineage_graph import (
    PREFIXES,
    Aliases,
    Select,
    chunks,
    field_node_id,
    field_of,
    values,
)


class ColumnGraph:
    """Marquez's column-lineage graph: ``datasetField`` nodes, edges from each input field
    to the field derived from it (origin → destination is the direction data flows)."""

    def __init__(self, select: Select, aliases: Aliases) -> None:
        self._select = select
        self._aliases = aliases
        self._derivations: dict[str, list[dict[str, Any]]] = {}

    def canonical(self, field: str) -> str:
        ns, name, path = field_of(field)
        ds = self._aliases.canonical(iris.dataset_iri(ns, name))
        return iris.field_iri(ds, path)

    def variants(self, fields: Iterable[str]) -> dict[str, str]:
        """Each field's IRI in every dataset of its alias component -> canonical field."""
        out = {}
        for f in fields:
            ns, name, path = field_of(f)
            ds = self._aliases.canonical(iris.dataset_iri(ns, name))
            for m in self._aliases.members(ds):
                out[iris.field_iri(m, path)] = f
        return out

    def _resolve_fields(self, fields: Iterable[str]) -> None:
        self._aliases.resolve(iris.dataset_iri(*field_of(f)[:2]) for f in fields)

    def fetch(self, fields: Iterable[str]) -> None:
        """Derivations (input fields and transformations) of canonical fields."""
        todo = [f for f in fields if f not in self._derivations]
        for f in todo:
            self._derivations[f] = []
        var = self.variants(todo)
        rows = []
        for batch in chunks(var):
            rows += [(r["out"].value, r["src"].value,
                      *(r[k].value if r[k] is not None else None
                        for k in ("type", "subtype", "desc", "masking")))
                     for r in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?out ?src ?type ?subtype ?desc ?masking WHERE {{
                    {values("out", batch)}
                    ?out dpg:hasDerivation ?d . ?d dpg:derivationSource ?src .
                    OPTIONAL {{ ?d dpg:transformationType ?type }}
                    OPTIONAL {{ ?d dpg:transformationSubtype ?subtype }}
                    OPTIONAL {{ ?d dct:description ?desc }}
                    OPTIONAL {{ ?d dpg:masking ?masking }} }}""")]
        self._resolve_fields(r[1] for r in rows)
        for out, src, kind, subtype, desc, masking in sorted(rows, key=str):
            source = self.canonical(src)
            sns, sname, spath = field_of(source)
            entry = {"namespace": sns, "dataset": sname, "field": spath,
                     "transformationDescription": desc, "transformationType": kind,
                     "transformationSubtype": subtype}
            if masking is not None:
                entry["masking"] = masking == "true"
            if entry not in self._derivations[var[out]]:
                self._derivations[var[out]].append(entry)
        for f in todo:
            self._derivations[f].sort(key=lambda i: tuple(
                str(i[k] or "") for k in ("namespace", "dataset", "field", "transformationType",
                                          "transformationSubtype", "transformationDescription")))

    def downstream(self, fields: Iterable[str]) -> set[str]:
        var = self.variants(fields)
        outs = set()
        for batch in chunks(var):
            outs |= {r["out"].value for r in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?out WHERE {{ {values("src", batch)}
                    ?out dpg:derivedFromField ?src }}""")}
        self._resolve_fields(outs)
        return {self.canonical(o) for o in outs}

    def build(self, starts: set[str], depth: int, with_downstream: bool) -> list[Any]:
        self._resolve_fields(starts)
        starts = {self.canonical(f) for f in starts}
        nodes = set(starts)
        frontier = set(starts)
        for _ in range(depth):  # upstream
            self.fetch(frontier)
            frontier = {field_node for f in frontier for field_node in
                        (iris.field_iri(iris.dataset_iri(i["namespace"], i["dataset"]),
                                        i["field"]) for i in self._derivations[f])} - nodes
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
        ins: dict[str, list[dict[str, str]]] = {f: [] for f in nodes}
        outs: dict[str, list[dict[str, str]]] = {f: [] for f in nodes}
        for f in nodes:
            for i in self._derivations[f]:
                src = iris.field_iri(iris.dataset_iri(i["namespace"], i["dataset"]), i["field"])
                if src in nodes:
                    edge = {"origin": node_ids[src], "destination": node_ids[f]}
                    if edge not in ins[f]:
                        ins[f].append(edge)
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
                "inEdges": sorted(ins[f], key=_edge_key),
                "outEdges": sorted(outs[f], key=_edge_key)})
        return sorted(graph, key=lambda n: n["id"])

    def _field_info(self, fields: set[str]) -> dict[str, tuple[Any, Any, Any]]:
        """Field-level transformation type and description (ColumnLineage 1.0) and type."""
        var = self.variants(fields)
        info: dict[str, dict[str, str]] = {}
        for batch in chunks(var):
            for row in self._select(f"""{PREFIXES}
                SELECT DISTINCT ?f ?k ?x WHERE {{ {values("f", batch)}
                    {{ ?f dpg:fieldTransformationType ?x BIND("kind" AS ?k) }}
                    UNION {{ ?f dpg:fieldTransformationDescription ?x BIND("desc" AS ?k) }}
                    UNION {{ ?f dpg:fieldType ?x BIND("type" AS ?k) }} }}"""):
                slot = info.setdefault(var[row["f"].value], {})
                key, value = row["k"].value, row["x"].value
                slot[key] = max(value, slot.get(key, value))
        return {f: (i.get("kind"), i.get("desc"), i.get("type")) for f, i in info.items()}


def _edge_key(edge: dict[str, str]) -> tuple[str, str]:
    return edge["origin"], edge["destination"]
