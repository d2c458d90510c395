"""Links that depend on a registration *and* on lineage, drawn after each projected batch.

``REPRESENTS`` (Dataset → Representation with the same normalised location, or whose symlink
alias has it), ``REALISES`` (Field → Column of a represented pair, by case-insensitive name,
as ``GET /products/{id}/datasets`` matches them) and a join key's ``TO_ELEMENT`` (its target
element belongs to another product) cannot come from one log record: either side may arrive
first, and a re-registration deletes and re-creates the product's nodes with their links.
So the projection maps records to changes, applies them, then runs these statements for the
datasets and products the batch touched. They are plain openCypher MERGEs, the same text for
every backend, and only ever add links: a link can only go stale when a product's own node
goes, and ``DeleteOwned`` takes its relationships with it. Whatever the order records arrive
in, the final graph is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from dpgraph.cypher.base import Statement

_REPRESENTS_BY_DATASET = """
UNWIND $datasets AS dsId
MATCH (d:Dataset) WHERE d.id = dsId AND d.normalizedLocation IS NOT NULL
MATCH (r:Representation) WHERE r.normalizedLocation = d.normalizedLocation
MERGE (d)-[:REPRESENTS]->(r)
"""
_REPRESENTS_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (r:Representation) WHERE r.product = pid AND r.normalizedLocation IS NOT NULL
MATCH (d:Dataset) WHERE d.normalizedLocation = r.normalizedLocation
MERGE (d)-[:REPRESENTS]->(r)
"""
# A symlink alias at the representation's location: the dataset it names represents it too.
# Run after the direct links so that the aliases linked just now are seen.
_REPRESENTS_THROUGH_ALIAS = """
UNWIND $datasets AS dsId
MATCH (a:Dataset)-[:ALIAS_OF]->(d:Dataset)
WHERE a.id = dsId OR d.id = dsId
MATCH (a)-[:REPRESENTS]->(r:Representation)
MERGE (d)-[:REPRESENTS]->(r)
"""
_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (a:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product = pid
MATCH (a)-[:ALIAS_OF]->(d:Dataset)
MERGE (d)-[:REPRESENTS]->(r)
"""
_REALISES_BY_DATASET = """
UNWIND $datasets AS dsId
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE d.id = dsId
MATCH (d)-[:HAS_FIELD]->(f:Field)
MATCH (r)-[:HAS_COLUMN]->(c:`Column`) WHERE toLower(c.name) = toLower(f.name)
MERGE (f)-[:REALISES]->(c)
"""
_REALISES_BY_PRODUCT = """
UNWIND $products AS pid
MATCH (d:Dataset)-[:REPRESENTS]->(r:Representation) WHERE r.product = pid
MATCH (d)-[:HAS_FIELD]->(f:Field)
MATCH (r)-[:HAS_COLUMN]->(c:`Column`) WHERE toLower(c.name) = toLower(f.name)
MERGE (f)-[:REALISES]->(c)
"""
_JOIN_TARGETS = """
UNWIND $products AS pid
MATCH (k:JoinKey) WHERE k.product = pid OR k.targetProduct = pid
MATCH (e:DataElement) WHERE e.id = k.target
MERGE (k)-[:TO_ELEMENT]->(e)
"""


def relink_statements(datasets: Sequence[str], products: Sequence[str]) -> list[Statement]:
    """The statements that draw every cross-record link touching these datasets/products."""
    out: list[Statement] = []
    if products:
        p = {"products": list(products)}
        out += [(_REPRESENTS_BY_PRODUCT, p), (_REPRESENTS_THROUGH_ALIAS_BY_PRODUCT, p),
                (_REALISES_BY_PRODUCT, p), (_JOIN_TARGETS, p)]
    if datasets:
        d = {"datasets": list(datasets)}
        out += [(_REPRESENTS_BY_DATASET, d), (_REPRESENTS_THROUGH_ALIAS, d),
                (_REALISES_BY_DATASET, d)]
    return out
