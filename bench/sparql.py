"""What running user queries in killable worker processes on store snapshots costs.

Times a trivial query (one triple pattern, one row) on an existing graph store directory:
in-process ``Store.query`` (no deadline possible) against ``answer_query`` (snapshot reused,
worker round trip), and the cost of a fresh snapshot after a write (the RocksDB flush and
checkpoint), plus the first query (fork server and worker start, first snapshot).

    .venv/bin/python bench/sparql.py --store DIR [--runs 200]

DIR is a pyoxigraph store, e.g. ``<data-dir>/graph`` of a stopped service, or one made with
``--make N`` (N generated quads in product-like named graphs). It is written to (one quad
per write sample) but nothing else.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pyoxigraph import Literal, NamedNode, Quad, Store

sys.path.insert(0, str(Path(__file__).parent))
from common import percentile

from dpgraph.store.base import UserQuery
from dpgraph.store.oxigraph_store import OxigraphStore

TRIVIAL = "SELECT ?o { <urn:bench:s> <urn:bench:p> ?o }"
NS = "https://w3id.org/dpgraph/"


def make(path: Path, quads: int) -> None:
    store = Store(str(path))
    store.bulk_extend(
        Quad(NamedNode(f"{NS}id/product/p{i // 300}/element/e{i % 300}"),
             NamedNode(f"{NS}ns#prop{i % 17}"), Literal(f"value {i} of a longer literal"),
             NamedNode(f"{NS}id/graph/product/p{i // 300}"))
        for i in range(quads))
    store.flush()


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<48} p50 {percentile(ms, 50):8.2f} ms   p95 {percentile(ms, 95):8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--make", type=int, default=0, help="first generate N quads")
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    if args.make:
        make(args.store, args.make)
    store = OxigraphStore(args.store)
    quad = Quad(NamedNode("urn:bench:s"), NamedNode("urn:bench:p"), Literal("x"),
                NamedNode("urn:bench:g"))
    store.add_quads([quad])
    size = sum(f.stat().st_size for f in args.store.iterdir()) / 2**20
    print(f"store {args.store}: {size:,.0f} MiB")
    query = UserQuery(TRIVIAL, timeout=30)

    report("first query (worker start, first snapshot)",
           timed(lambda: store.answer_query(query), 1))
    report("in-process Store.query", timed(
        lambda: list(store._store.query(TRIVIAL, use_default_graph_as_union=True)), args.runs))
    report("answer_query, snapshot reused", timed(lambda: store.answer_query(query), args.runs))

    def after_write() -> None:
        store.add_quads([Quad(quad.subject, quad.predicate, Literal(str(time.time())),
                              quad.graph_name)])
        store.answer_query(query)

    write_only = timed(lambda: store.add_quads([quad]), 20)
    report("one write alone", write_only)
    report("one write, then answer_query (new snapshot)", timed(after_write, 20))
    store.close()


if __name__ == "__main__":
    main()
