"""Named query benchmark: p50/p95 of every named query in SPARQL and Cypher, on the embedded
backends (pyoxigraph, Kùzu), over a generated mesh (bench/mesh.py).

Prints the projection time of the RDF graph on start and the time to build the Cypher view
from scratch, then per query and language p50/p95 over --runs runs (after one warm-up), and
the row count. Runs in process through the named-query runner (the HTTP layer adds ~1 ms).
Issue target: 10,000 products and 1,000,000 lineage edges (`--products 10000 --jobs 250000`),
p95 < 200 ms each. A query whose first run takes longer than ``--budget`` seconds is reported
as not finishing and not repeated. Not a test: run by hand, e.g. `python bench/queries.py
--products 1000 --jobs 25000`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import percentile
from lineage import DS_NS, table_name
from mesh import NOW, product_tables, write_mesh

from dpgraph.cypher.embedded import CypherTimeout
from dpgraph.errors import QueryTimeout
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.services.named_queries import bind, render_sparql
from dpgraph.settings import Settings
from dpgraph.store.base import UserQuery


def params_for(rt: Runtime, products: int) -> dict[str, dict[str, str]]:
    """Parameters under which the parameterised queries have rows to find, looked up in the
    generated data (column lineage and join-key targets are drawn at random): a product and
    a dataset with column lineage, and a join-key target of p00001."""
    now = NOW.isoformat().replace("+00:00", "Z")
    _, gold = product_tables(1)
    chosen = {
        "inactive_owner_or_expired_contract": {"now": now},
        "stale_products": {"now": now},
        "failed_runs_by_domain": {"now": now},
        "upstream_lineage": {"product": "p00001"},
        "downstream_impact": {"namespace": DS_NS, "name": table_name(gold)},
        "join_keys_between": {"product_a": "p00001", "product_b": f"p{products // 2:05d}"},
    }
    service = rt.cypher
    assert service is not None

    def first(cypher: str) -> dict[str, str] | None:
        rows = service.rows(cypher, timeout=600)
        return rows[0] if rows else None

    if found := first("MATCH (p:Product)-[:HAS_REPRESENTATION]->(:Representation)"
                      "<-[:REPRESENTS]-(:Dataset)-[:HAS_FIELD]->(:Field)-[:DERIVED_FROM]->"
                      "(:Field) RETURN p.id AS product ORDER BY product LIMIT 1"):
        chosen["upstream_lineage"] = found
    if found := first("MATCH (ds:Dataset)-[:HAS_FIELD]->(:Field)<-[:DERIVED_FROM]-(:Field) "
                      "RETURN ds.namespace AS namespace, ds.name AS name "
                      "ORDER BY namespace, name LIMIT 1"):
        chosen["downstream_impact"] = found
    if found := first("MATCH (:Product {id: 'p00001'})-[:HAS_JOIN_KEY]->(k:JoinKey) "
                      "RETURN k.targetProduct AS product_b ORDER BY product_b LIMIT 1"):
        chosen["join_keys_between"] = {"product_a": "p00001", **found}
    return chosen


def finishes(rt: Runtime, name: str, given: dict[str, str], lang: str) -> bool:
    """Run the query once where it can be stopped at the time box: SPARQL as /sparql runs
    user queries (a worker process killed at the deadline), Cypher with the engine's own
    timeout. In-process named SPARQL queries cannot be stopped."""
    assert rt.queries is not None
    try:
        if lang == "sparql":
            query = rt.queries.get(name)
            text = render_sparql(query, bind(query, given))
            rt.sparql.query(UserQuery(sparql=text, timeout=rt.settings.sparql_timeout))
        else:
            rt.queries.run(name, given, lang)
    except (QueryTimeout, CypherTimeout):
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds a query's first run may take; past it the query is "
                             "reported as not finishing and not repeated")
    parser.add_argument("--reuse", type=Path, default=None,
                        help="a data directory kept by an earlier run (--keep): start on it "
                             "instead of generating and projecting the mesh again")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only this named query (repeatable); all by default")
    parser.add_argument("--lang", choices=("sparql", "cypher"), action="append",
                        help="only this language (repeatable); both by default")
    args = parser.parse_args()
    languages = tuple(args.lang or ("sparql", "cypher"))
    only = set(args.only or ())
    tmp = Path(tempfile.mkdtemp(prefix="dpgraph-queries-bench-"))
    data = args.reuse or tmp / "data"
    try:
        if args.reuse is None:
            t0 = time.perf_counter()
            counts = write_mesh(data / "log.sqlite", products=args.products, jobs=args.jobs)
            print(f"mesh: {counts['products']} products, {counts['events']} lineage events "
                  f"({args.jobs} jobs) written to the log in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        rt = open_runtime(Settings(data_dir=data, sparql_timeout=args.budget,
                                   cypher_timeout=args.budget))
        print(f"RDF projection (and search, join index) on start: "
              f"{time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        if rt.compaction is not None:  # started after the catch-up, as the service does
            rt.compaction.wait()
        print(f"graph store compaction awaited: {time.perf_counter() - t0:.1f} s")
        try:
            assert rt.cypher_view is not None and rt.queries is not None
            t0 = time.perf_counter()
            rt.cypher_view.wait_for(rt.log.head(), timeout=24 * 3600)
            built = "caught up" if args.reuse else "built from scratch"
            print(f"Cypher view {built} (Kùzu): {time.perf_counter() - t0:.1f} s")
            params = params_for(rt, args.products)
            print(f"parameters: {params}")
            print(f"{'query':40} {'lang':7} {'p50 ms':>8} {'p95 ms':>8} {'rows':>6}")
            for q in rt.queries.list():
                if only and q["name"] not in only:
                    continue
                for lang in languages:
                    name, given = q["name"], params.get(q["name"], {})
                    if not finishes(rt, name, given, lang):
                        print(f"{name:40} {lang:7} did not finish in the {args.budget:g} s "
                              "time box  > 200 ms")
                        continue
                    rows = len(rt.queries.run(name, given, lang).rows)
                    times = []
                    for _ in range(args.runs):
                        t = time.perf_counter()
                        rt.queries.run(name, given, lang)
                        times.append((time.perf_counter() - t) * 1000)
                    flag = "" if percentile(times, 95) < 200 else "  > 200 ms"
                    print(f"{q['name']:40} {lang:7} {statistics.median(times):8.1f} "
                          f"{percentile(times, 95):8.1f} {rows:6}{flag}")
        finally:
            rt.close()
    finally:
        if args.keep or args.reuse:
            print(f"data kept in {data}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
