"""Classification propagation over ~1,000,000 column-lineage edges, in process.

A layered mesh: SOURCES registered products (20 classified columns each), then EVENTS jobs,
each writing one dataset of FIELDS columns derived from two earlier datasets (70 % DIRECT
IDENTITY, 15 % DIRECT TRANSFORMATION, 5 % masked, 10 % INDIRECT). Every record goes through
the column-flow follower (``ColumnFlowIndex.apply``) as the projector would feed it.

Prints: the load (incremental, per event p50/p95/max), the full recompute of the label
fixpoint (what a rebuild ends with), the per-event cost of further events on the loaded
graph (new jobs and re-runs), the findings read, and the RSS.

    .venv/bin/python bench/propagation.py [--events 20000] [--fields 50]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile, rss_mib

from dpgraph.log.sqlite_log import LogRecord
from dpgraph.services.column_flow_index import ColumnFlowIndex

LABELS = ["public", "internal", "confidential", "pii"]
NS = "s3://bench-mesh"


class Feed:
    def __init__(self) -> None:
        self.offset = 0

    def record(self, kind: str, payload: dict[str, Any]) -> LogRecord:
        self.offset += 1
        return LogRecord(self.offset, kind, str(self.offset), "2026-12-01T00:00:00Z",
                         f"d{self.offset}", payload)


def product(i: int, rng: random.Random) -> dict[str, Any]:
    cols = [f"c{k}" for k in range(20)]
    return {"id": f"src-{i}", "domain": f"d{i % 20}", "lifecycleStatus": "active",
            "elements": [{"name": c, "classification": rng.choice(LABELS)} for c in cols],
            "representations": [{"id": "r", "location": f"{NS}/src_{i}",
                                 "attributes": [{"name": c, "type": "string", "element": c}
                                                for c in cols]}]}


def transformation(rng: random.Random) -> list[dict[str, Any]]:
    x = rng.random()
    if x < 0.70:
        return [{"type": "DIRECT", "subtype": "IDENTITY"}]
    if x < 0.85:
        return [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]
    if x < 0.90:
        return [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}]
    return [{"type": "INDIRECT", "subtype": "JOIN"}]


def lineage_event(job: str, output: str, inputs: list[tuple[str, int]], fields: int,
                  rng: random.Random, day: int) -> dict[str, Any]:
    cl = {}
    for k in range(fields):
        name, width = rng.choice(inputs)
        cl[f"c{k}"] = {"inputFields": [{"namespace": NS, "name": name,
                                        "field": f"c{rng.randrange(width)}",
                                        "transformations": transformation(rng)}]}
    return {"eventType": "COMPLETE", "eventTime": f"2026-12-{day:02d}T00:00:00Z",
            "run": {"runId": f"{job}-{day}"}, "job": {"namespace": "bench", "name": job},
            "inputs": [{"namespace": NS, "name": n} for n, _ in inputs],
            "outputs": [{"namespace": NS, "name": output, "facets": {
                "columnLineage": {"fields": cl},
                "schema": {"fields": [{"name": f"c{k}", "type": "string"}
                                      for k in range(fields)]}}}]}


def timed(index: ColumnFlowIndex, record: LogRecord) -> float:
    started = time.perf_counter()
    index.apply([record])
    return (time.perf_counter() - started) * 1000


def summary(ms: list[float]) -> str:
    return (f"p50 {percentile(ms, 50):.3f} ms, p95 {percentile(ms, 95):.3f} ms, "
            f"max {max(ms):.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--fields", type=int, default=50)
    ap.add_argument("--more", type=int, default=2000, help="events timed on the loaded graph")
    args = ap.parse_args()
    rng = random.Random(42)
    feed = Feed()
    index = ColumnFlowIndex()
    gc.freeze()  # the generator's garbage is not the point; keep the collector out of timings

    started = time.perf_counter()
    for i in range(args.sources):
        index.apply([feed.record("product.registered", {"descriptor": product(i, rng)})])
    datasets: list[tuple[str, int]] = [(f"src_{i}", 20) for i in range(args.sources)]
    load: list[float] = []
    for j in range(args.events):
        inputs = rng.sample(datasets[-5000:], 2)
        ev = lineage_event(f"job{j}", f"out_{j}", inputs, args.fields, rng, 1)
        load.append(timed(index, feed.record("lineage.event", {"event": ev})))
        datasets.append((f"out_{j}", args.fields))
    loaded = time.perf_counter() - started
    stats = index.stats()
    print(f"loaded {args.sources} products and {args.events} events in {loaded:.1f} s: "
          f"{stats['edges']:,} carrying edges (of {args.events * args.fields:,} derivations), "
          f"{stats['columns']:,} columns, {stats['labelled']:,} labelled")
    print(f"per event while loading: {summary(load)}")

    started = time.perf_counter()
    labelled = index.recompute()
    print(f"full recompute: {time.perf_counter() - started:.2f} s ({labelled:,} labelled "
          f"columns)")
    gc.freeze()  # as the server does once start-up has loaded its indexes (dpgraph.runtime)

    new_jobs: list[float] = []
    reruns: list[float] = []
    changed: list[float] = []
    for k in range(args.more):
        if k % 3 == 0:  # a new job reading anywhere in the mesh
            inputs = rng.sample(datasets, 2)
            ev = lineage_event(f"more{k}", f"more_{k}", inputs, args.fields, rng, 2)
            new_jobs.append(timed(index, feed.record("lineage.event", {"event": ev})))
            datasets.append((f"more_{k}", args.fields))
        elif k % 3 == 1:  # a further run of a known job, same derivations
            j = rng.randrange(args.events)
            r = random.Random(j)  # not the generator's stream: only the time differs
            ev = lineage_event(f"job{j}", f"out_{j}", [("src_0", 20), ("src_1", 20)],
                               args.fields, r, 3)
            ev["outputs"][0]["facets"]["columnLineage"] = None  # schema only
            reruns.append(timed(index, feed.record("lineage.event", {"event": ev})))
        else:  # a known job whose derivations changed (adds and removes edges)
            j = rng.randrange(args.events)
            ev = lineage_event(f"job{j}", f"out_{j}", rng.sample(datasets[:j + args.sources],
                                                                 2), args.fields, rng, 4)
            changed.append(timed(index, feed.record("lineage.event", {"event": ev})))
    registered: list[float] = []
    for j in range(0, args.events, 20):  # every 20th output registered, all columns public
        d = product(j, rng)
        d.update(id=f"out-{j}", elements=[{**e, "classification": "public"}
                                          for e in d["elements"]])
        d["representations"][0]["location"] = f"{NS}/out_{j}"
        registered.append(timed(index, feed.record("product.registered", {"descriptor": d})))
    print(f"per registration of a product on the loaded graph: {summary(registered)}")
    print(f"per event on the loaded graph, new job: {summary(new_jobs)}")
    print(f"per event on the loaded graph, re-run, schema only: {summary(reruns)}")
    started = time.perf_counter()
    findings = index.weaker_classifications()
    print(f"per event on the loaded graph, changed derivations (removals mark the fixpoint "
          f"stale): {summary(changed)}; the next read recomputes: weaker-classification "
          f"findings read in {time.perf_counter() - started:.2f} s ({len(findings):,})")
    started = time.perf_counter()
    index.weaker_classifications()
    print(f"findings read again (settled): {time.perf_counter() - started:.2f} s")
    print(f"RSS {rss_mib(os.getpid()):.0f} MiB")


if __name__ == "__main__":
    main()
