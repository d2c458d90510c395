"""Search benchmark: how fast the search projection indexes lineage events, and how fast
queries answer on the result.

Writes N generated RunEvents (job i reads the table of job i-1 and writes its own table of
10 described fields; every 10th event re-runs an earlier job, so rows are merged) plus the demo
mesh's records into a fresh log, then times the index catching up from the log alone (no graph)
and a set of queries against it (type-ahead prefixes, multi-word, filters).

Not a test: run it by hand, e.g. `python bench/search.py --events 20000`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import percentile

from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.runtime import open_runtime
from dpgraph.search.index import SearchIndex
from dpgraph.search.query import parse_request
from dpgraph.services.lineage import to_record
from dpgraph.settings import Settings

WORDS = ["customer", "order", "invoice", "shipment", "revenue", "stock", "campaign", "consent",
         "payment", "return"]
QUERIES = ["cust", "order", "order amount", "invoice total", "ship", "revenue daily",
           "table_12", "job_99", "consent status", "paym"]


def event(i: int) -> dict:
    job = i if i % 10 else i // 2  # every 10th event re-runs an earlier job
    word = WORDS[job % len(WORDS)]

    def table(n: int) -> dict:
        return {"namespace": "postgres://warehouse:5432", "name": f"dw.{word}.table_{n}",
                "facets": {"schema": {
                    "_producer": "https://example.org/bench",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/"
                                  "SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                    "fields": [{"name": f"{word}_field_{k}", "type": "VARCHAR",
                                "description": f"The {word} attribute number {k} of table {n}"}
                               for k in range(10)]}}}

    return {
        "eventType": "COMPLETE", "eventTime": "2026-11-24T10:00:00Z",
        "producer": "https://example.org/bench",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0192e8b4-0000-7000-8000-{i:012d}"},
        "job": {"namespace": "bench", "name": f"{word}.job_{job}", "facets": {"sql": {
            "_producer": "https://example.org/bench",
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json"
                          "#/$defs/SQLJobFacet",
            "query": f"insert into table_{job} select * from table_{max(job - 1, 0)}"}}},
        "inputs": [table(max(job - 1, 0))], "outputs": [table(job)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="dpgraph-bench-search-"))
    rt = open_runtime(Settings(data_dir=data, demo=True))
    from dpgraph.demo import load_demo

    load_demo(rt.registry, rt.artefacts.examples)
    rt.close()
    log = SqliteLog(data / "log.sqlite")
    validator = EventValidator()
    log.append([to_record(validator.validate(event(i))) for i in range(args.events)])
    head = log.head()
    index = SearchIndex(data / "bench-search.sqlite")
    started = time.perf_counter()
    index.catch_up(log, page=500)
    seconds = time.perf_counter() - started
    print(f"indexed {head} log records ({args.events} events) in {seconds:.2f} s: "
          f"{args.events / seconds:.0f} events/s")
    times: dict[str, list[float]] = {}
    for n in range(args.queries):
        q = QUERIES[n % len(QUERIES)]
        for label, types in (("all types", None), ("type=column", "column")):
            request = parse_request(q, types, None, 20, 0)
            t0 = time.perf_counter()
            index.search(request.match, types=request.types, domains=(), limit=20, offset=0)
            times.setdefault(label, []).append((time.perf_counter() - t0) * 1000)
    for label, values in times.items():
        print(f"query ({label}, limit 20): p50 {percentile(values, 50):.1f} ms, "
              f"p95 {percentile(values, 95):.1f} ms")
    print(f"index file: {(data / 'bench-search.sqlite').stat().st_size / 2**20:.1f} MiB")
    index.close()
    log.close()


if __name__ == "__main__":
    main()
