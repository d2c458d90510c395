"""Links that depend on a registration *and* on lineage, drawn after each projected batch.

``REPRESENTS`` (Dataset → Representation with the same normalised location, or whose symlink
alias has it), ``REALISES`` (Field → Column of a represented pair, by case-insensitive name,
as ``GET /products/{id}/datasets`` matches them) and a join key's ``TO_ELEMENT`` (its target
element belongs to another product) cannot come from one log record: either side may arrive
first, and a re-registration deletes and re-creates the product's nodes with their links.
So the projection maps records to changes, applies them, then draws these links for the
datasets and products the batch touched. Each is a reading part in plain openCypher (the same
text for every backend) binding two end points, and a relationship to merge between them
(``merge``: what the Bolt backend runs). The embedded backend asks for the missing pairs
(``missing``) and bulk-loads them; REALISES pairs it joins by name itself (``SameNameLink``).
They only ever add links: a link can only go stale when a product's own node goes, and
``DeleteOwned`` takes its relationships with it. Whatever the order records arrive in, the
final graph is the same.

``FLOWS_TO`` (DataElement → Field) is kept reachability: every field derived, through any
number of column derivations, from a field that realises one of the element's columns.
Queries such as pii_flow read it instead of walking ``DERIVED_FROM`` from every source field
(a variable-length walk costs Kùzu ~40 µs a start). Derivations and ``REALISES`` only grow
and an element's links go with its node, so the closure only grows too. Its two links are
global (not scoped by the batch): they find the pairs one derivation beyond what is linked,
and walk on from there up to :data:`WALK` derivations; a ``closure`` link is drawn again
until it finds nothing, so the result is the exact closure whatever the batch boundaries
and arrival order. Their cost follows the links kept, not the graph.

The batch's ids are bound with ``IN $list``, not ``UNWIND``: Kùzu plans ``UNWIND … WHERE
n.id = x`` as a hash join over a scan of the whole label, while ``IN`` masks the scan to the
listed nodes, so the work and memory of a relink follow the batch, not the graph.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dpgraph.cypher.model import Statement

# Runs a reading query and returns its rows (the embedded backend's connection).
Rows = Callable[[str, Mapping[str, Any]], list[list[Any]]]


@dataclass(frozen=True)
class Link:
    """Merge ``(src)-[:type]->(dst)`` for every pair the reading part ``match`` binds."""

    match: str
    src: str  # variable of the start node in ``match``
    type: str
    dst: str
    params: Mapping[str, Any]
    # A reading query returning (first column) every dataset that can be bound at all, from
    # the registered side, so tens of thousands at most: the embedded backend keeps only
    # those of ``$datasets`` first, since Kùzu filters ``IN $datasets`` over every dataset
    # of the graph, each against the whole list (3.6 s for 5,000 among 236,000).
    candidates: str = ""

    # Draw again until nothing is missing: the link's pattern starts where the last round's
    # links end (FLOWS_TO), so one round may not reach a fixpoint.
    closure: bool = False
    # Relationship properties copied from the end node: property -> property of ``dst``.
    copied: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Draw only if the same call drew links of one of these types: nothing else the batch
    # changed can give this link new pairs. A backend that does not know what it drew (Bolt
    # runs ``merge`` blind) draws it anyway, which changes nothing when nothing is missing.
    only_after: frozenset[str] = frozenset()

    def merge(self) -> Statement:
        sets = "".join(f"\nSET x.{prop} = {self.dst}.{source}"
                       for prop, source in self.copied.items())
        return (f"{self.match.rstrip()}\nMERGE ({self.src})-[x:{self.type}]->({self.dst})"
                f"{sets}\n", self.params)

    def remaining(self) -> Statement:
        """How many bound rows are still unlinked (``n``): what a backend that only runs
        ``merge`` asks before drawing a ``closure`` link again."""
        return f"{self.match.rstrip()}\nRETURN count(*) AS n\n", self.params

    def narrowed(self, rows: Rows) -> Link | None:
        """This link with only the datasets its ``candidates`` allow; None if none is left."""
        if not self.candidates:
            return self
        allowed = {row[0] for row in rows(self.candidates, {})}
        kept = [d for d in self.params["datasets"] if d in allowed]
        return replace(self, params={**self.params, "datasets": kept}) if kept else None

    def missing(self, rows: Rows) -> list[tuple[Any, ...]]:
        """The ids of the bound pairs not yet linked, then the ``copied`` values."""
        copied = "".join(f", {self.dst}.{source}" for source in self.copied.values())
        found = rows(f"{self.match.rstrip()}\nWITH DISTINCT {self.src}, {self.dst}\n"
                     f"WHERE NOT EXISTS {{ MATCH ({self.src})-[:{self.type}]->({self.dst}) }}\n"
                     f"RETURN {self.src}.id, {self.dst}.id{copied}", self.params)
        return [tuple(row) for row in found]


@dataclass(frozen=True)
class SameNameLink(Link):
    """REALISES between the fields of a dataset ``d`` and the columns of a representation
    ``r`` it represents, by case-insensitive name; ``scope`` binds the (d, r) pairs.

    ``missing`` reads the fields, the columns and the links in place and joins them by name
    here: as one query the name comparison is a filter over every field × column pair of a
    dataset, which for a few hundred wide datasets exhausts Kùzu's page cache."""

    scope: str = ""

    def missing(self, rows: Rows) -> list[tuple[Any, ...]]:
        scope = self.scope.rstrip()
        columns: dict[tuple[str, str], list[str]] = {}
        for rep, column, name in rows(
                f"{scope}\nMATCH (r)-[:HAS_COLUMN]->(c:`Column`)\n"
                "RETURN DISTINCT r.id, c.id, c.name", self.params):
            columns.setdefault((rep, (name or "").lower()), []).append(column)
        if not columns:
            return []
        linked = {(f, c) for f, c in rows(
            f"{scope}\nMATCH (d)-[:HAS_FIELD]->(f:Field)-[:REALISES]->(c:`Column`)\n"
            "RETURN DISTINCT f.id, c.id", self.params)}
        pairs: set[tuple[str, str]] = set()
        for rep, field, name in rows(
                f"{scope}\nMATCH (d)-[:HAS_FIELD]->(f:Field)\n"
                "RETURN DISTINCT r.id, f.id, f.name", self.params):
            for column in columns.get((rep, (name or "").lower()), ()):
                if (field, column) not in linked:
                    pairs.add((field, column))
        return sorted(pairs)


_REPRESENTS_BY_DATASET = """
MATCH (d:Dataset) WHERE d.id IN $datasets AND d.normalizedLocation IS NOT NULL
MATCH (r:Representation) WHERE r.normalizedLocation = d.normalizedLocation
"""
_REPRESENTS_BY_PRODUCT = """
MATCH (r:Representation) WHERE r.product IN $products AND r.normalizedLocation IS NOT NULL
MATCH (d:Dataset) WHERE d.normalizedLocation = r.normalizedLocation
"""
# A symlink alias at the representation's location: the dataset it names represents it too.
# Run after the direct links so that the aliases linked just now are seen.
_REPRESENTS_THROUGH_ALIAS = """
MATCH (a:Dataset)-[:ALIAS_OF]->(d:Dataset)
WHERE a.id IN $datasets OR d.id IN $datasets
MATCH (a)-[:REPRESENTS]->(r:Representation)
"""
_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT = """
MATCH (a:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product IN $products
MATCH (a)-[:ALIAS_OF]->(d:Dataset)
"""
_REPRESENTED_DATASETS = """
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE d.id IN $datasets
"""
_AT_A_REPRESENTATION = """
MATCH (r:Representation) WHERE r.normalizedLocation IS NOT NULL
WITH DISTINCT r.normalizedLocation AS location
MATCH (d:Dataset) WHERE d.normalizedLocation = location
RETURN d.id
"""
_REPRESENTED = "MATCH (d:Dataset)-[:REPRESENTS]->(:Representation) RETURN DISTINCT d.id"
_REPRESENTED_BY_PRODUCT = """
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product IN $products
"""
_SAME_NAME = """
MATCH (d)-[:HAS_FIELD]->(f:Field)
MATCH (r)-[:HAS_COLUMN]->(c:`Column`) WHERE toLower(c.name) = toLower(f.name)
"""
_JOIN_TARGETS = """
MATCH (k:JoinKey) WHERE k.product IN $products OR k.targetProduct IN $products
MATCH (e:DataElement) WHERE e.id = k.target
"""


WALK = 20
# Pattern predicates (``WHERE NOT (a)-[:T]->(b)``) run on Kùzu, FalkorDB and Neo4j alike.
_FLOWS_FROM_SOURCES = f"""
MATCH (e:DataElement)<-[:HOLDS]-(:`Column`)<-[:REALISES]-(:Field)<-[:DERIVED_FROM]-(v:Field)
WHERE NOT (e)-[:FLOWS_TO]->(v)
WITH DISTINCT e, v
MATCH (v)<-[:DERIVED_FROM*0..{WALK}]-(f:Field)
"""
_FLOWS_ONE_STEP_FURTHER = f"""
MATCH (e:DataElement)-[:FLOWS_TO]->(:Field)<-[:DERIVED_FROM]-(v:Field)
WHERE NOT (e)-[:FLOWS_TO]->(v)
WITH DISTINCT e, v
MATCH (v)<-[:DERIVED_FROM*0..{WALK}]-(f:Field)
"""
# The field's dataset and name ride on the link: reading a node's properties after a join
# costs Kùzu a scan of its table (2 million fields at 10,000 products: pii_flow 188 -> 113 ms).
_FIELD_OF = {"dataset": "dataset", "field": "name"}
FLOWS_TO = (Link(_FLOWS_FROM_SOURCES, "e", "FLOWS_TO", "f", {}, copied=_FIELD_OF),
            Link(_FLOWS_ONE_STEP_FURTHER, "e", "FLOWS_TO", "f", {}, closure=True,
                 copied=_FIELD_OF))


def _realises(scope: str, params: Mapping[str, Any], candidates: str = "") -> SameNameLink:
    return SameNameLink(scope + _SAME_NAME.lstrip("\n"), "f", "REALISES", "c", params,
                        candidates, scope=scope)


def relink(datasets: Sequence[str], products: Sequence[str], derivations: bool = False
           ) -> list[Link]:
    """The links touching these datasets/products, in the order they must be drawn;
    ``derivations``: the batch wrote field derivations (``DERIVED_FROM``)."""
    out: list[Link] = []
    if products:
        by_product = {"products": list(products)}
        out += [Link(_REPRESENTS_BY_PRODUCT, "d", "REPRESENTS", "r", by_product),
                Link(_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT, "d", "REPRESENTS", "r", by_product),
                _realises(_REPRESENTED_BY_PRODUCT, by_product),
                Link(_JOIN_TARGETS, "k", "TO_ELEMENT", "e", by_product)]
    if datasets:
        by_dataset = {"datasets": list(datasets)}
        out += [Link(_REPRESENTS_BY_DATASET, "d", "REPRESENTS", "r", by_dataset,
                     _AT_A_REPRESENTATION),
                Link(_REPRESENTS_THROUGH_ALIAS, "d", "REPRESENTS", "r", by_dataset),
                _realises(_REPRESENTED_DATASETS, by_dataset, _REPRESENTED)]
    # Last: they follow the REALISES links drawn above. New pairs come only from new
    # derivations, a registration (its columns, their elements) or new REALISES links; a
    # batch of lineage without column lineage (most of it) costs nothing more. At 10,000
    # products the two queries take ~100-200 ms each even when nothing is missing.
    if products or derivations:
        out += FLOWS_TO
    elif datasets:
        out += [replace(link, only_after=frozenset({"REALISES"})) for link in FLOWS_TO]
    return out
