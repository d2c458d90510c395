"""Materialised links from lineage datasets to the product representations they are.

A lineage dataset is a registered representation when their normalised locations are equal,
directly or through a ``symlinks`` alias of the dataset. Whole-mesh queries (shadow data,
PII flow, downstream impact, schema drift) used to join every representation's location with
every dataset's at query time; this follower of the projector writes the result once, as
``?dataset dpg:representedBy ?representation`` in ``…/graph/lineage-links``, with the hash of
each representation's registered columns (``dpg:columnsSignature``, dpgraph.schema_signature)
that ``schema_drift`` compares with its datasets' latest schemas, and, restated from the
summary graph, the ``dpg:hasInput`` edges of every linked dataset: the queries that ask
which jobs read a product's data then scan those (~90,000 at 10,000 products) instead of
looking up the inputs of every job they start from.

Each batch recomputes only what it can change: the links of the products registered in it
(their old links are dropped first, so a representation removed or moved loses its links) and
the links of the locations its lineage events mention (a new dataset, or a new alias of an
old one). Both parts are one SPARQL update, idempotent, so re-applying a batch after a crash
lands in the same state. Registering a product before or after its lineage gives the same
links. It runs after :class:`~dpgraph.services.lineage_summary.LineageSummary`, whose graph
it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyoxigraph import Literal, NamedNode, Quad

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.schema_signature import signature
from dpgraph.services import realised_attributes as realised
from dpgraph.services.lineage_summary import SUMMARY_GRAPH
from dpgraph.services.projector import LINEAGE_EVENT, PRODUCT_REGISTERED, lineage_quads
from dpgraph.store.base import GraphStore, graph_holds

LINKS_GRAPH = iris.LINEAGE_LINKS_GRAPH


class RepresentationLinks:
    def __init__(self, store: GraphStore) -> None:
        self._store = store
        # Locations and aliases already linked since start: a later event restating them
        # cannot change their links (a registration relinks its own representations), so
        # only new ones are looked up. Re-linking a known one would only cost time.
        self._seen_locations: set[str] = set()
        self._seen_aliases: set[tuple[str, str]] = set()

    def apply(self, records: Sequence[LogRecord]) -> None:
        self.apply_mapped(records, {})

    def apply_mapped(self, records: Sequence[LogRecord], mapped: Mapping[int, list[Quad]]
                     ) -> None:
        products: dict[str, ProductNodes] = {}
        locations: set[str] = set()
        aliases: set[tuple[str, str]] = set()
        fielded: set[str] = set()  # datasets with fields in the batch: matched to columns
        inputs: set[tuple[str, str]] = set()  # (job, dataset) read in the batch
        for record in records:
            if record.kind == PRODUCT_REGISTERED:
                descriptor = record.payload["descriptor"]
                products[descriptor["id"]] = product_nodes(descriptor)
            elif record.kind == LINEAGE_EVENT:
                quads = mapped.get(record.offset)
                located: dict[str, str] = {}
                aliased: list[tuple[str, str]] = []
                for q in quads if quads is not None else lineage_quads(record):
                    if q.predicate == v.NORMALIZED_LOCATION:
                        located[q.subject.value] = q.object.value
                    elif q.predicate == v.ALIAS_OF:
                        aliased.append((q.subject.value, q.object.value))
                    elif q.predicate == v.HAS_FIELD:
                        fielded.add(q.subject.value)
                    elif q.predicate == v.HAS_INPUT:
                        inputs.add((q.subject.value, q.object.value))
                locations.update(loc for loc in located.values()
                                 if loc not in self._seen_locations)
                for alias in aliased:
                    if alias not in self._seen_aliases and alias[0] in located:
                        aliases.add(alias)
                        locations.add(located[alias[0]])
        if products or locations or fielded or inputs:
            self._store.update(relink_update(products, sorted(locations), sorted(fielded),
                                             sorted(inputs)))
        self._seen_locations |= locations  # only once stored: a failed write is retried
        self._seen_aliases |= aliases

    def backfill(self) -> None:
        """Link everything when the graph has lineage and representations but no links yet
        (a data directory projected before this follower existed, or a rebuilt graph), and
        sign every representation's columns when no signature is stored (the same, or a
        graph from before the signatures; a mesh whose columns are all untyped is read
        again on each start, one query)."""
        if not graph_holds(self._store, LINKS_GRAPH, v.REPRESENTED_BY):
            self._store.update(_insert_links(
                f"GRAPH ?g {{ ?rep a <{v.PHYSICAL_REPRESENTATION.value}> ; "
                f"<{v.NORMALIZED_LOCATION.value}> ?loc }}"))
        if not graph_holds(self._store, LINKS_GRAPH, v.COLUMNS_SIGNATURE):
            self._sign_all()
        if not graph_holds(self._store, LINKS_GRAPH, v.FIELD_OF_ATTRIBUTE):
            self._store.update(realised.insert_matches(_linked("")))
        if not graph_holds(self._store, LINKS_GRAPH, v.HAS_INPUT):
            self._store.update(_restate_inputs(_linked("")))

    def _sign_all(self) -> None:
        rows = self._store.select(f"""SELECT ?rep ?name ?type WHERE {{ GRAPH ?g {{
            ?rep a <{v.PHYSICAL_REPRESENTATION.value}> .
            OPTIONAL {{ ?rep <{v.HAS_ATTRIBUTE.value}> ?a . ?a <{v.COLUMN_NAME.value}> ?name .
                       OPTIONAL {{ ?a <{v.DATA_TYPE.value}> ?type }} }} }} }}""")
        columns: dict[str, list[tuple[str, str | None]]] = {}
        for row in rows:
            listed = columns.setdefault(row["rep"].value, [])
            if row["name"] is not None:
                listed.append((row["name"].value,
                               None if row["type"] is None else row["type"].value))
        self._store.add_quads([
            Quad(NamedNode(rep), v.COLUMNS_SIGNATURE, Literal(sig), LINKS_GRAPH)
            for rep, cols in columns.items() if (sig := signature(cols)) is not None])

    def clear(self) -> None:
        """Forget what was linked (the graph is cleared with the store on a rebuild)."""
        self._seen_locations.clear()
        self._seen_aliases.clear()


@dataclass
class ProductNodes:
    """A registered product's representations and columns (IRIs), and the columns signature
    of each representation whose columns can be compared by hash."""

    representations: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)


def product_nodes(descriptor: Mapping[str, Any]) -> ProductNodes:
    """Of a registered descriptor, as logged."""
    out = ProductNodes()
    pid = descriptor["id"]
    for rep in descriptor.get("representations", []):
        iri = iris.representation(pid, rep["id"]).value
        out.representations.append(iri)
        attributes = rep.get("attributes", [])
        out.columns += [iris.attribute(pid, rep["id"], a["name"]).value for a in attributes]
        sig = signature((a["name"], a.get("type") or None) for a in attributes)
        if sig is not None:
            out.signatures[iri] = sig
    return out


def _signature_triples(signatures: Iterable[tuple[str, str]]) -> list[str]:
    return [f"<{rep}> <{v.COLUMNS_SIGNATURE.value}> {Literal(sig)} ." for rep, sig in signatures]


def relink_update(products: Mapping[str, ProductNodes], locations: Sequence[str],
                  fielded: Sequence[str] = (), inputs: Sequence[tuple[str, str]] = ()) -> str:
    """Drop the links of ``products``' representations and the columns signatures and field
    matches of their representations and columns, then link their representations and
    every representation at one of ``locations``, sign their columns, match the fields
    of what was linked and of the ``fielded`` datasets to columns
    (dpgraph.services.realised_attributes), and restate the ``inputs`` (job, dataset) whose
    dataset is linked.

    Links are dropped by the products' IRI prefix, so a representation a new version no
    longer has loses them. Signatures and matches are dropped by lookup of the current
    representations and columns (a prefix scan took ~100 ms and ~600 ms per registration at
    10,000 products): one left on a representation or column a new version removed is on a
    node no product graph has any more, which no query reaches."""
    rep = v.PHYSICAL_REPRESENTATION.value
    loc = v.NORMALIZED_LOCATION.value
    parts: list[str] = []
    sources: list[str] = []
    if products:
        prefixes = " ".join(str(Literal(f"{iris.product(p).value}/representation/"))
                            for p in sorted(products))
        nodes = list(products.values())
        parts.append(f"""
            DELETE {{ GRAPH <{LINKS_GRAPH.value}> {{ ?ds <{v.REPRESENTED_BY.value}> ?rep }} }}
            WHERE {{ VALUES ?prefix {{ {prefixes} }}
                     GRAPH <{LINKS_GRAPH.value}> {{ ?ds <{v.REPRESENTED_BY.value}> ?rep }}
                     FILTER (STRSTARTS(STR(?rep), ?prefix)) }}""")
        representations = " ".join(f"<{r}>" for n in nodes for r in n.representations)
        if representations:
            signed = f"GRAPH <{LINKS_GRAPH.value}> {{ ?rep <{v.COLUMNS_SIGNATURE.value}> ?s }}"
            parts.append(f"DELETE {{ {signed} }} "
                         f"WHERE {{ VALUES ?rep {{ {representations} }} {signed} }}")
        columns = [c for n in nodes for c in n.columns]
        if columns:
            parts.append(realised.drop_for_columns(columns))
        graphs = " ".join(f"<{iris.product_graph(p).value}>" for p in sorted(products))
        sources.append(f"VALUES ?g {{ {graphs} }} "
                       f"GRAPH ?g {{ ?rep a <{rep}> ; <{loc}> ?loc }}")
    if locations:
        values = " ".join(str(Literal(text)) for text in locations)
        sources.append(f"VALUES ?loc {{ {values} }} GRAPH ?g {{ ?rep a <{rep}> ; <{loc}> ?loc }}")
    if sources:
        representations = " UNION ".join(f"{{ {s} }}" for s in sources)
        parts.append(_insert_links(representations))
        parts.append(realised.insert_matches(_linked(representations)))
    if fielded:
        values = " ".join(f"<{ds}>" for ds in fielded)
        parts.append(realised.insert_matches(_linked_datasets(values)))
    if inputs:
        pairs = " ".join(f"(<{job}> <{ds}>)" for job, ds in inputs)
        parts.append(f"""
            INSERT {{ GRAPH <{LINKS_GRAPH.value}> {{ ?job <{v.HAS_INPUT.value}> ?ds }} }}
            WHERE {{ VALUES (?job ?ds) {{ {pairs} }}
                     FILTER EXISTS {{ {_linked("")} }} }}""")
    signatures = sorted((r, sig) for n in products.values() for r, sig in n.signatures.items())
    if signatures:
        triples = " ".join(_signature_triples(signatures))
        parts.append(f"INSERT DATA {{ GRAPH <{LINKS_GRAPH.value}> {{ {triples} }} }}")
    return " ;\n".join(parts)


def _insert_links(representations: str) -> str:
    """Insert a link for every representation the pattern binds (``?rep`` at ``?loc``) and
    every lineage dataset at that location or with an alias there, with the dataset's
    latest-schema time and signature (restated here so that ``schema_drift`` joins only
    linked datasets'; see :func:`mirror_latest_schemas`). Updates see no union default
    graph, so every pattern names its graph."""
    loc = v.NORMALIZED_LOCATION.value
    return f"""
        INSERT {{ GRAPH <{LINKS_GRAPH.value}> {{ ?ds <{v.REPRESENTED_BY.value}> ?rep }} }}
        WHERE {{ {representations}
                 GRAPH <{SUMMARY_GRAPH.value}> {{
                     {{ ?ds <{loc}> ?loc }}
                     UNION {{ ?alias <{loc}> ?loc ; <{v.ALIAS_OF.value}> ?ds }} }} }} ;
        {_restate(_linked(representations))} ;
        {_restate_inputs(_linked(representations))}"""


def _linked(representations: str) -> str:
    """The links (``?ds``, ``?rep``) of the representations the pattern binds."""
    return f"{representations} GRAPH <{LINKS_GRAPH.value}> " \
           f"{{ ?ds <{v.REPRESENTED_BY.value}> ?rep }}"


def _linked_datasets(values: str) -> str:
    """The links of the datasets listed (``VALUES`` terms)."""
    return _linked(f"VALUES ?ds {{ {values} }}")


def restate_all_latest_schemas() -> str:
    """Restate the latest-schema time and signature of every linked dataset (one update:
    a graph from before the restatements, see :func:`mirror_latest_schemas`)."""
    return _restate(_linked(""))


def mirror_latest_schemas(datasets: Sequence[str]) -> str:
    """Restate in the links graph the latest-schema time and signature of those of
    ``datasets`` that are linked, after the latest-schema graph changed them.

    Invariant: a dataset's restated time and signature, where present, are those of the
    latest-schema graph. Each change there drops the restatement (linked or not) and
    restates it if linked; a new link restates the values of that moment (the links
    follower runs before the latest-schema follower in a batch). A restatement left on a
    dataset whose links were dropped is current and joined with no link."""
    values = " ".join(f"<{ds}>" for ds in datasets)
    links = LINKS_GRAPH.value
    at, sig = v.LATEST_SCHEMA_AT.value, v.SCHEMA_SIGNATURE.value
    # One DELETE per predicate: with the predicate a variable too, oxigraph scanned the
    # links graph (230 ms for a batch at 10,000 products, against 2 ms).
    return f"""
        DELETE {{ GRAPH <{links}> {{ ?ds <{at}> ?o }} }}
        WHERE {{ VALUES ?ds {{ {values} }} GRAPH <{links}> {{ ?ds <{at}> ?o }} }} ;
        DELETE {{ GRAPH <{links}> {{ ?ds <{sig}> ?o }} }}
        WHERE {{ VALUES ?ds {{ {values} }} GRAPH <{links}> {{ ?ds <{sig}> ?o }} }} ;
        {_restate(_linked_datasets(values))}"""


def _restate_inputs(linked: str) -> str:
    """Restate in the links graph the ``hasInput`` edges of the linked datasets (``?ds``) the
    pattern binds, from the summary graph. Like the restated latest schemas, an edge left on
    a dataset whose links were dropped joins no link, and is restated again if it is
    linked again."""
    has_input = v.HAS_INPUT.value
    return f"""
        INSERT {{ GRAPH <{LINKS_GRAPH.value}> {{ ?job <{has_input}> ?ds }} }}
        WHERE {{ {{ SELECT DISTINCT ?ds WHERE {{ {linked} }} }}
                 GRAPH <{SUMMARY_GRAPH.value}> {{ ?job <{has_input}> ?ds }} }}"""


def _restate(linked: str) -> str:
    """Restate the latest-schema time and signature of the linked datasets (``?ds``) the
    pattern binds. Two plain joins: an OPTIONAL for the signature would be evaluated whole,
    over the 250,000 signed datasets of a 10,000-product mesh (~3 s for one batch)."""
    latest = iris.LATEST_SCHEMA_GRAPH.value
    return " ;\n".join(f"""
        INSERT {{ GRAPH <{LINKS_GRAPH.value}> {{ ?ds <{p}> ?o }} }}
        WHERE {{ {linked} GRAPH <{latest}> {{ ?ds <{p}> ?o }} }}"""
                        for p in (v.LATEST_SCHEMA_AT.value, v.SCHEMA_SIGNATURE.value))
