"""Embedded Cypher engine comparison: load a lineage-shaped graph through the same idempotent
UNWIND … MERGE writes the projection uses, then time bounded variable-length queries.

    .venv/bin/python bench/cypher_engines.py --module real_ladybug --edges 300000

Run once per engine (``real_ladybug`` = LadybugDB, ``kuzu`` = Kùzu's last release), each in an
environment that has it installed.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", default="real_ladybug")
    ap.add_argument("--edges", type=int, default=300_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--queries", type=int, default=50)
    args = ap.parse_args()
    engine = importlib.import_module(args.module)
    rng = random.Random(7)
    layers, per_layer = 20, args.edges // 60
    nodes = [f"ds-{layer}-{i}" for layer in range(layers) for i in range(per_layer)]
    edges: set[tuple[str, str]] = set()
    while len(edges) < args.edges:  # each edge goes one layer down: a layered lineage DAG
        layer = rng.randrange(1, layers)
        edges.add((f"ds-{layer}-{rng.randrange(per_layer)}",
                   f"ds-{layer - 1}-{rng.randrange(per_layer)}"))
    with tempfile.TemporaryDirectory() as tmp:
        db = engine.Database(str(Path(tmp) / "db"))
        conn = engine.Connection(db)
        conn.execute("CREATE NODE TABLE Dataset(id STRING PRIMARY KEY, name STRING)")
        conn.execute("CREATE REL TABLE DERIVED(FROM Dataset TO Dataset, lastSeen STRING)")
        started = time.perf_counter()
        for i in range(0, len(nodes), args.batch):
            conn.execute("UNWIND $rows AS r MERGE (n:Dataset {id: r.id}) SET n.name = r.id",
                         {"rows": [{"id": n} for n in nodes[i:i + args.batch]]})
        node_s = time.perf_counter() - started
        edge_list = sorted(edges)
        started = time.perf_counter()
        for i in range(0, len(edge_list), args.batch):
            rows = [{"s": s, "d": d, "t": "2026-01-01T00:00:00Z"}
                    for s, d in edge_list[i:i + args.batch]]
            conn.execute("UNWIND $rows AS r MATCH (a:Dataset) WHERE a.id = r.s MATCH (b:Dataset) "
                         "WHERE b.id = r.d "
                         "MERGE (a)-[e:DERIVED]->(b) SET e.lastSeen = r.t", {"rows": rows})
        edge_s = time.perf_counter() - started
        size = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file())
        print(f"{args.module} {getattr(engine, '__version__', '?')}: {len(nodes)} nodes in "
              f"{node_s:.1f} s, {len(edge_list)} edges (UNWIND MATCH MERGE, batches of "
              f"{args.batch}) in {edge_s:.1f} s ({len(edge_list) / edge_s:.0f} edges/s); "
              f"files {size / 1e6:.0f} MB")
        starts = [f"ds-{layers - 1}-{rng.randrange(per_layer)}" for _ in range(args.queries)]
        for depth in (3, 5, 10):
            times, sizes = [], []
            for s in starts:
                t0 = time.perf_counter()
                r = conn.execute(f"MATCH (a:Dataset {{id: $id}})-[:DERIVED*1..{depth}]->(b) "
                                 "RETURN count(DISTINCT b)", {"id": s})
                sizes.append(r.get_next()[0])
                times.append(time.perf_counter() - t0)
            times.sort()
            print(f"{args.module}: var-length 1..{depth} from one dataset: p50 "
                  f"{statistics.median(times) * 1000:.1f} ms, p95 "
                  f"{times[int(len(times) * 0.95) - 1] * 1000:.1f} ms, reached p50 "
                  f"{statistics.median(sizes):.0f} datasets")


if __name__ == "__main__":
    main()
