"""The relink step's memory follows the batch, not the graph: in a graph of 300,000 fields,
wide datasets represented by wide tables are linked field to column under a small page cache
of the embedded engine (the real one).

Bound with ``UNWIND``, Kùzu planned the relink queries as hash joins over every field of the
graph, and matched names over every field × column pair of a dataset; 50 such datasets in a
graph of 1,000 exhausted a 64 MiB page cache (the 10,000-product bench failed the same way
with the default 1 GiB, and the view stopped there)."""

from __future__ import annotations

from pathlib import Path

from dpgraph.cypher.embedded import EmbeddedCypher
from dpgraph.cypher.model import NodeUpsert, RelUpsert
from dpgraph.cypher.relink import relink

DATASETS, REPRESENTED, WIDTH = 1000, 50, 300


def wide_mesh() -> list[NodeUpsert | RelUpsert]:
    changes: list[NodeUpsert | RelUpsert] = []
    for i in range(DATASETS):
        location = f"s3://lake/t{i}"
        ds, rep = f"s3://lake:t{i}", f"p{i}/rep"
        changes.append(NodeUpsert("Dataset", ds, {"normalizedLocation": location}))
        for j in range(WIDTH):
            field = f"{ds}:c{j}"
            changes += [NodeUpsert("Field", field, {"name": f"c{j}"}),
                        RelUpsert("HAS_FIELD", "Dataset", ds, "Field", field)]
        if i >= REPRESENTED:
            continue
        changes.append(NodeUpsert("Representation", rep, {
            "product": f"p{i}", "normalizedLocation": location, "owner": f"p{i}"}))
        for j in range(WIDTH):
            column = f"{rep}/c{j}"
            changes += [NodeUpsert("Column", column, {"name": f"C{j}", "owner": f"p{i}"}),
                        RelUpsert("HAS_COLUMN", "Representation", rep, "Column", column)]
        # a field with no column of its name, and a column with no field of its name
        changes += [NodeUpsert("Field", f"{ds}:extra", {"name": "extra"}),
                    RelUpsert("HAS_FIELD", "Dataset", ds, "Field", f"{ds}:extra"),
                    NodeUpsert("Column", f"{rep}/other", {"name": "other", "owner": f"p{i}"}),
                    RelUpsert("HAS_COLUMN", "Representation", rep, "Column", f"{rep}/other")]
    return changes


def count(engine: EmbeddedCypher, cypher: str) -> int:
    return int(engine.query(cypher, timeout=60)[0]["n"])


def test_wide_datasets_link_under_a_small_page_cache(tmp_path: Path) -> None:
    engine = EmbeddedCypher(tmp_path / "cypher", buffer_pool_bytes=64 * 2**20)
    try:
        engine.apply(wide_mesh())
        datasets = [f"s3://lake:t{i}" for i in range(REPRESENTED)]
        engine.link(relink(datasets, []))
        assert count(engine, "MATCH (:Dataset)-[r:REPRESENTS]->() RETURN count(r) AS n") == \
            REPRESENTED
        assert count(engine, "MATCH (:Field)-[r:REALISES]->() RETURN count(r) AS n") == \
            REPRESENTED * WIDTH
        assert engine.query(
            "MATCH (f:Field)-[:REALISES]->(c:`Column`) WHERE f.id = 's3://lake:t7:c12' "
            "RETURN c.id AS c", timeout=60) == [{"c": "p7/rep/c12"}]
        assert count(engine, "MATCH (f:Field)-[r:REALISES]->() WHERE f.name = 'extra' "
                             "RETURN count(r) AS n") == 0
        # drawing again from the products' side adds nothing
        engine.link(relink([], [f"p{i}" for i in range(REPRESENTED)]))
        assert count(engine, "MATCH (:Field)-[r:REALISES]->() RETURN count(r) AS n") == \
            REPRESENTED * WIDTH
    finally:
        engine.close()
