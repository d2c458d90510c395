"""Links that depend on a registration *and* on lineage, drawn after each projected batch.

``REPRESENTS`` (Dataset → Representation with the same normalised location, or whose symlink
alias has it), ``REALISES`` (Field → Column of a represented pair, by case-insensitive name,
as ``GET /products/{id}/datasets`` matches them) and a join key's ``TO_ELEMENT`` (its target
element belongs to another product) cannot come from one log record: either side may arrive
first, and a re-registration deletes and re-creates the product's nodes with their links.
So the projection maps records to changes, applies them, then draws these links for the
datasets and products the batch touched. Each is a reading part in plain openCypher (the same
text for every backend) binding two end points, and a relationship to merge between them
(``Link.merge``: what the Bolt backend runs; the embedded one looks the pairs up and
bulk-loads the missing ones). They only ever add links: a link can only go stale when a
product's own node goes, and ``DeleteOwned`` takes its relationships with it. Whatever the
order records arrive in, the final graph is the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dpgraph.cypher.model import Statement


@dataclass(frozen=True)
class Link:
    """Merge ``(src)-[:type]->(dst)`` for every pair the reading part ``match`` binds."""

    match: str
    src: str  # variable of the start node in ``match``
    type: str
    dst: str
    params: Mapping[str, Any]

    def merge(self) -> Statement:
        return (f"{self.match.rstrip()}\nMERGE ({self.src})-[:{self.type}]->({self.dst})\n",
                self.params)

    def missing_pairs(self) -> str:
        """The ids of the bound pairs not yet linked."""
        return (f"{self.match.rstrip()}\nWITH DISTINCT {self.src}, {self.dst}\n"
                f"WHERE NOT EXISTS {{ MATCH ({self.src})-[:{self.type}]->({self.dst}) }}\n"
                f"RETURN {self.src}.id, {self.dst}.id")

_REPRESENTS_BY_DATASET = """
UNWIND $datasets AS dsId
MATCH (d:Dataset) WHERE d.id = dsId AND d.normalizedLocation IS NOT NULL
MATCH (r:Representation) WHERE r.normalizedLocation = d.normalizedLocation
"""
_REPRESENTS_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (r:Representation) WHERE r.product = pid AND r.normalizedLocation IS NOT NULL
MATCH (d:Dataset) WHERE d.normalizedLocation = r.normalizedLocation
"""
# A symlink alias at the representation's location: the dataset it names represents it too.
# Run after the direct links so that the aliases linked just now are seen.
_REPRESENTS_THROUGH_ALIAS = """
UNWIND $datasets AS dsId
MATCH (a:Dataset)-[:ALIAS_OF]->(d:Dataset)
WHERE a.id = dsId OR d.id = dsId
MATCH (a)-[:REPRESENTS]->(r:Representation)
"""
_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (a:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product = pid
MATCH (a)-[:ALIAS_OF]->(d:Dataset)
"""
_REALISES_BY_DATASET = """
UNWIND $datasets AS dsId
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE d.id = dsId
MATCH (d)-[:HAS_FIELD]->(f:Field)
MATCH (r)-[:HAS_COLUMN]->(c:`Column`) WHERE toLower(c.name) = toLower(f.name)
"""
_REALISES_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product = pid
MATCH (d)-[:HAS_FIELD]->(f:Field)
MATCH (r)-[:HAS_COLUMN]->(c:`Column`) WHERE toLower(c.name) = toLower(f.name)
"""
_JOIN_TARGETS = """
UNWIND $products AS pid
MATCH (k:JoinKey) WHERE k.product = pid OR k.targetProduct = pid
MATCH (e:DataElement) WHERE e.id = k.target
"""


# (reading part, start variable, relationship type, end variable), in drawing order
_BY_PRODUCT = (
    (_REPRESENTS_BY_PRODUCT, "d", "REPRESENTS", "r"),
    (_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT, "d", "REPRESENTS", "r"),
    (_REALISES_BY_PRODUCT, "f", "REALISES", "c"),
    (_JOIN_TARGETS, "k", "TO_ELEMENT", "e"),
)
_BY_DATASET = (
    (_REPRESENTS_BY_DATASET, "d", "REPRESENTS", "r"),
    (_REPRESENTS_THROUGH_ALIAS, "d", "REPRESENTS", "r"),
    (_REALISES_BY_DATASET, "f", "REALISES", "c"),
)


def relink(datasets: Sequence[str], products: Sequence[str]) -> list[Link]:
    """The links touching these datasets/products, in the order they must be drawn."""
    out: list[Link] = []
    if products:
        out += [Link(*spec, {"products": list(products)}) for spec in _BY_PRODUCT]
    if datasets:
        out += [Link(*spec, {"datasets": list(datasets)}) for spec in _BY_DATASET]
    return out


def relink_statements(datasets: Sequence[str], products: Sequence[str]) -> list[Statement]:
    """The same links as MERGE statements."""
    return [link.merge() for link in relink(datasets, products)]
