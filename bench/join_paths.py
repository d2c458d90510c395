"""Join-path benchmark: 10,000 generated products with 30,000 declared join keys, plus a
master-identifier term carried by 3,000 of them (one hub). Times the join-path search and
rendering (what ``GET /api/v1/join-paths`` runs after its projection barrier) for random
product pairs, and, for comparison, networkx's k shortest simple paths on the same graph.
Not a test: run it by hand (`python bench/join_paths.py`).

The products are fed to the join index as log records (the projector's path), without the
graph store: the index is what answers join paths.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from typing import Any

from common import percentile

from dpgraph.joins.paths import HUB, LAMBDA, join_paths
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.join_index import JoinIndex

HUB_TERM = "customer-identifier"


def product(i: int, n: int, keys: int, rng: random.Random, hub_share: float) -> dict[str, Any]:
    pid = f"p{i:05d}"
    targets = rng.sample([j for j in range(n) if j != i][: n - 1], keys) if n <= 50 else \
        [(i + rng.randint(1, n - 1)) % n for _ in range(keys)]
    elements = [{"name": "id", "businessTerm": f"entity-{i}"}]
    elements += [{"name": f"ref_{k}", "businessTerm": f"entity-{t}"}
                 for k, t in enumerate(targets)]
    if rng.random() < hub_share:
        elements.append({"name": "customer_id", "businessTerm": HUB_TERM})
    elements.append({"name": "amount", "businessTerm": "amount"})
    names = [e["name"] for e in elements]
    reps = [{"id": f"{pid}-delta", "kind": "table", "format": "delta", "storageLayer": "gold",
             "location": f"s3://bench/{pid}",
             "attributes": [{"name": n.upper(), "element": n} for n in names]},
            {"id": f"{pid}-pg", "kind": "table", "format": "sql-table", "storageLayer": "gold",
             "location": f"postgres://db:5432/bench.gold.{pid}",
             "attributes": [{"name": n, "element": n} for n in names]}]
    return {"id": pid, "elements": elements, "representations": reps,
            "outputPorts": [{"id": "sql", "visibility": "public", "representation": f"{pid}-pg"}],
            "joinKeys": [{"element": f"ref_{k}", "references": {"product": f"p{t:05d}",
                                                                  "element": "id"}}
                         for k, t in enumerate(targets)]}


def records(n: int, keys: int, hub_share: float, seed: int) -> list[LogRecord]:
    rng = random.Random(seed)
    glossary = [{"id": HUB_TERM, "identifierRole": "master-identifier"}]
    out = [LogRecord(1, "catalog.registered", "catalog", "2026-01-01T00:00:00Z", "c",
                     {"catalog": {"glossary": glossary}})]
    for i in range(n):
        out.append(LogRecord(i + 2, "product.registered", f"p{i:05d}", "2026-01-01T00:00:00Z",
                             str(i), {"descriptor": product(i, n, keys, rng, hub_share)}))
    return out


def networkx_paths(graph: Any, source: str, target: str, max_hops: int, limit: int) -> int:
    import itertools

    import networkx as nx

    found = 0
    paths = nx.shortest_simple_paths(graph, source, target, weight="weight")
    for path in itertools.islice(paths, limit * 2):
        hops = sum(1 if not n.startswith(HUB) else 0 for n in path) - 1
        if hops > max_hops:
            break
        found += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--keys-per-product", type=int, default=3)
    parser.add_argument("--hub-share", type=float, default=0.3)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--max-hops", type=int, default=4)
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--networkx-pairs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    recs = records(args.products, args.keys_per_product, args.hub_share, args.seed)
    index = JoinIndex()
    started = time.perf_counter()
    index.apply(recs)
    fed = time.perf_counter() - started
    started = time.perf_counter()
    g = index.graph()
    built = time.perf_counter() - started
    declared = sum(1 for e in g.edges.values() if e.status == "declared")
    hub = len(g.hubs.get(HUB_TERM, []))
    print(f"{args.products:,} products, {declared:,} declared join keys, hub "
          f"{HUB_TERM!r} with {hub:,} members")
    print(f"index fed in {fed:.2f} s; join graph built in {built * 1000:.0f} ms")

    rng = random.Random(args.seed + 1)
    ids = sorted(g.products)
    pairs = [tuple(rng.sample(ids, 2)) for _ in range(args.pairs)]
    join_paths(g, *pairs[0], args.max_hops, args.limit)  # warm-up (imports sqlglot)
    gc.freeze()  # as the server does after loading its indexes (dpgraph.runtime)
    times: list[float] = []
    hops: dict[int, int] = {}
    for a, b in pairs:
        t = time.perf_counter()
        found = join_paths(index.graph(), a, b, args.max_hops, args.limit)
        times.append((time.perf_counter() - t) * 1000)
        best = found[0]["hops"] if found else 0
        hops[best] = hops.get(best, 0) + 1
    print(f"join paths (max_hops={args.max_hops}, limit={args.limit}), {len(pairs)} random "
          f"pairs: p50 {percentile(times, 50):.1f} ms, p95 {percentile(times, 95):.1f} ms, "
          f"max {max(times):.1f} ms")
    print("  best path hops: " + ", ".join(
        f"{h if h else 'none'}: {c}" for h, c in sorted(hops.items())))

    if args.networkx_pairs:
        import networkx as nx

        nxg = nx.Graph()
        for p, neighbours in g.adjacency.items():
            for q, edge in neighbours.items():
                nxg.add_edge(p, q, weight=1 + LAMBDA * edge.cost)
        for term, members in g.hubs.items():
            for ref in members:
                nxg.add_edge(ref.product, HUB + term, weight=0.5)
        nx_times = []
        for a, b in pairs[: args.networkx_pairs]:
            t = time.perf_counter()
            networkx_paths(nxg, a, b, args.max_hops, args.limit)
            nx_times.append((time.perf_counter() - t) * 1000)
        print(f"networkx shortest_simple_paths (same graph, {len(nx_times)} pairs, search "
              f"only): p50 {percentile(nx_times, 50):.1f} ms, "
              f"p95 {percentile(nx_times, 95):.1f} ms")


if __name__ == "__main__":
    main()
