"""Product lineage and principle findings on a generated mesh (``bench/mesh.py``), in process.

The log's records go through the followers as the projector feeds them (the lineage
adjacency index and the product-lineage index); then it times what the HTTP endpoints run
after their projection barrier: building the product graph snapshot (after any new record),
a product's lineage at depth 3, the domain dependency matrix and the principle findings.

    cd bench && ../.venv/bin/python product_lineage.py --products 1000 --jobs 40000
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import tempfile
import time
from pathlib import Path

from common import percentile
from mesh import write_mesh

from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.product_lineage.graph import dependency_matrix, neighbourhood
from dpgraph.services.lineage_index import LineageIndex
from dpgraph.services.product_lineage import PrincipleFindings
from dpgraph.services.product_lineage_index import ProductLineageIndex


def timed_ms(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dpgraph-product-lineage-bench-"))
    try:
        write_mesh(tmp / "log.sqlite", products=args.products, jobs=args.jobs)
        log = SqliteLog(tmp / "log.sqlite")
        records = list(log.read())
        lineage = LineageIndex()
        index = ProductLineageIndex(lineage)
        started = time.perf_counter()
        lineage.add(records)
        index.apply(records)
        print(f"{args.products:,} products, {len(records):,} log records fed in "
              f"{time.perf_counter() - started:.1f} s")
        gc.freeze()  # as the server does after start-up
        findings = PrincipleFindings(index)
        last = records[-1]
        rebuild, reads, matrix, found = [], [], [], []
        rng = random.Random(1)
        ids = sorted(index.graph().facts.products)
        for i in range(args.runs):
            # a further record invalidates the snapshot: the next read rebuilds it
            again = LogRecord(last.offset + 1 + i, last.kind, last.key, last.recorded_at,
                              f"{last.digest}-{i}", last.payload)
            lineage.add([again])
            index.apply([again])
            rebuild.append(timed_ms(index.graph))
            g = index.graph()
            reads += [timed_ms(lambda g=g, p=p: neighbourhood(g, p, "both", 3))
                      for p in rng.sample(ids, 20)]
            matrix.append(timed_ms(lambda g=g: dependency_matrix(g)))
            found.append(timed_ms(findings.findings))
        n = len(findings.findings())
        print(f"product graph snapshot rebuilt after a new record: p50 "
              f"{percentile(rebuild, 50):.0f} ms, max {max(rebuild):.0f} ms")
        print(f"product lineage, depth 3, both directions ({len(reads)} reads): p50 "
              f"{percentile(reads, 50):.1f} ms, p95 {percentile(reads, 95):.1f} ms")
        print(f"domain dependency matrix: p50 {percentile(matrix, 50):.0f} ms")
        print(f"principle findings ({n:,}): p50 {percentile(found, 50):.0f} ms, "
              f"max {max(found):.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
