"""What pyoxigraph takes to answer N rows, whatever the query: the floor under a named query
that returns many rows (pii_flow returns 20,370 at 10,000 products).

Builds a RocksDB store of `--filler` unrelated quads plus N subjects in one named graph, each
with four string properties, as if a follower had kept every answer row as facts, then times
(p50 over `--runs` after one warm-up) selecting them: one property, all four, all four
sorted. Each row's terms are read as Python strings, as the named-query runner does. The same
rows are then copied into an in-memory store and selected again: what the same query engine
takes without RocksDB under it (pyoxigraph fixes RocksDB's options, its block cache and
compression, in its Rust code: a Python caller cannot tune them). Not a test: run by hand,
e.g. `python bench/sparql_rows.py --rows 20000`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import pyoxigraph as ox

NS = "https://example.com/bench/"
GRAPH = ox.NamedNode(f"{NS}graph/rows")
PROPS = [ox.NamedNode(f"{NS}{name}") for name in ("element", "dataset", "field", "product")]


def build(store: ox.Store, rows: int, filler: int) -> None:
    quads = []
    for i in range(rows):
        row = ox.NamedNode(f"{NS}row/{i}")
        values = (f"p{i % 10_000:05d}/element_{i}",
                  f"snowflake://acme:analytics.t{i * 7919 % rows}",
                  f"field_{i % 97}", f"p{i * 31 % 10_000:05d}")
        quads += [ox.Quad(row, p, ox.Literal(v), GRAPH)
                  for p, v in zip(PROPS, values, strict=True)]
    for i in range(filler):
        quads.append(ox.Quad(ox.NamedNode(f"{NS}other/{i}"), PROPS[i % 4],
                             ox.Literal(f"value {i}"), ox.NamedNode(f"{NS}graph/{i % 100}")))
    store.bulk_extend(quads)
    store.flush()
    store.optimize()


QUERIES = {
    "1 column (1 pattern)": f"SELECT ?element WHERE {{ GRAPH <{GRAPH.value}> {{ "
                            f"?r <{PROPS[0].value}> ?element }} }}",
    "4 columns (4 patterns)": f"SELECT ?element ?dataset ?field ?product WHERE {{ "
                              f"GRAPH <{GRAPH.value}> {{ ?r <{PROPS[0].value}> ?element ; "
                              f"<{PROPS[1].value}> ?dataset ; <{PROPS[2].value}> ?field ; "
                              f"<{PROPS[3].value}> ?product }} }}",
}
QUERIES["4 columns, ORDER BY all four"] = (QUERIES["4 columns (4 patterns)"]
                                           + " ORDER BY ?element ?dataset ?field ?product")


def timed(store: ox.Store, query: str, runs: int) -> str:
    """p50 of ``runs`` (after one warm-up) of selecting every row as Python strings."""
    times, n = [], 0
    for _ in range(runs + 1):
        t = time.perf_counter()
        n = len([[term.value for term in solution] for solution in store.query(query)])
        times.append((time.perf_counter() - t) * 1000)
    return f"p50 {statistics.median(times[1:]):7.1f} ms  rows {n}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--filler", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dpgraph-sparql-rows-") as directory:
        store = ox.Store(directory)
        t0 = time.perf_counter()
        build(store, args.rows, args.filler)
        print(f"store: {args.rows} rows x 4 properties + {args.filler} other quads, built in "
              f"{time.perf_counter() - t0:.1f} s")
        for name, query in QUERIES.items():
            print(f"{name:40} {timed(store, query, args.runs)}")
        memory = ox.Store()
        memory.bulk_extend(store.quads_for_pattern(None, None, None, GRAPH))
        for name, query in QUERIES.items():
            print(f"{name + ', in memory':40} {timed(memory, query, args.runs)}")
        del store


if __name__ == "__main__":
    main()
