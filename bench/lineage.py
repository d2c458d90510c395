"""Lineage read benchmark: a generated warehouse-shaped lineage graph, read through the HTTP API.

Generates one COMPLETE RunEvent (OpenLineage 2-0-2, validated) per job of a layered DAG and one
event whose output carries column lineage from 5,000 upstream fields; writes them through the
real write path (validate, `to_record`, log append) to a fresh data directory, lets start-up
project them, then starts `dpgraph serve` and times `GET /api/v1/lineage` (depth 20, sampled
datasets of middle layers) and `GET /api/v1/column-lineage` of the wide dataset.

Shape: domains of LAYERS x WIDTH jobs; layer 0 holds raw source datasets, each job of layer l
reads 1-5 datasets of earlier layers (mostly l-1, older layers geometrically rarer; 4% from
another domain, the shared tables every warehouse has) and writes one dataset. Neighbourhood
sizes stay near 1,000 nodes whatever --jobs is: more jobs make more domains, not deeper ones.

Not a test: run it by hand, e.g. `python bench/lineage.py --jobs 5000`.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from common import free_port, percentile, service_rss

from dpgraph.lineage.validation import EventValidator
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.runtime import open_runtime
from dpgraph.services.lineage import to_record
from dpgraph.settings import Settings

WIDTH = 20  # jobs (and datasets) per layer and domain
LAYERS = 20  # job layers per domain (layer 0: raw sources)
CROSS_DOMAIN = 0.04  # share of inputs read from another domain
OLDER_LAYER = 0.5  # chance an input reaches one layer further back
DEPTH = 20
BATCH = 1000

DS_NS = "snowflake://acme-prod"
JOB_NS = "dbt-prod"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.23.0/integration/dbt"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
JOB_TYPE_URL = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
SCHEMA_FACET_URL = ("https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json"
                    "#/$defs/SchemaDatasetFacet")
COLUMN_LINEAGE_URL = ("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
                      "#/$defs/ColumnLineageDatasetFacet")
START_TIME = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

WIDE_INPUTS = 5  # datasets the wide dataset is derived from
WIDE_INPUT_FIELDS = 1000  # fields of each of them (5 x 1,000 = 5,000 upstream fields)
WIDE_OUTPUT_FIELDS = 50  # each derived from 100 of the 5,000
WIDE_NAME = "analytics.marts.customer_360_wide"

Table = tuple[int, int, int]  # (domain, layer, index)


@dataclass
class Job:
    output: Table
    inputs: list[Table]


def table_name(t: Table) -> str:
    d, layer, i = t
    return f"analytics.dom{d:03d}_{'raw' if layer == 0 else f'l{layer:02d}'}.t{i:02d}"


def job_name(t: Table) -> str:
    return f"dom{t[0]:03d}.l{t[1]:02d}.build_t{t[2]:02d}"


def generate(jobs: int, rng: random.Random) -> list[Job]:
    """The layered DAG: job j writes table (domain, layer, index) of its position."""
    per_domain = WIDTH * LAYERS
    domains = -(-jobs // per_domain)

    def exists(t: Table) -> bool:
        d, layer, i = t
        return layer == 0 or d * per_domain + (layer - 1) * WIDTH + i < jobs

    out = []
    for j in range(jobs):
        d, r = divmod(j, per_domain)
        layer, i = 1 + r // WIDTH, r % WIDTH
        wanted = rng.randint(1, 5)
        inputs: list[Table] = []
        while len(inputs) < wanted:
            lag = 1
            while lag < layer and rng.random() < OLDER_LAYER:
                lag += 1
            source_domain = rng.randrange(domains) if rng.random() < CROSS_DOMAIN else d
            t = (source_domain, layer - lag, rng.randrange(WIDTH))
            if not exists(t):
                t = (d, t[1], t[2])
            if t not in inputs:
                inputs.append(t)
        out.append(Job((d, layer, i), inputs))
    return out


def dataset(name: str, facets: dict | None = None) -> dict:
    return {"namespace": DS_NS, "name": name, **({"facets": facets} if facets else {})}


def facet(url: str, **body: object) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def run_event(rng: random.Random, n: int, job: str, inputs: list[dict], outputs: list[dict]
              ) -> dict:
    at = START_TIME + dt.timedelta(seconds=n)
    return {
        "eventType": "COMPLETE",
        "eventTime": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
        "job": {"namespace": JOB_NS, "name": job, "facets": {"jobType": facet(
            JOB_TYPE_URL, processingType="BATCH", integration="DBT", jobType="MODEL")}},
        "inputs": inputs,
        "outputs": outputs,
    }


def wide_event(rng: random.Random, n: int, sources: list[str]) -> dict:
    """A dataset of 50 fields, each derived from 100 of the 5,000 fields of 5 inputs."""
    def field_of(k: int) -> tuple[str, str]:
        return sources[k // WIDE_INPUT_FIELDS], f"c{k % WIDE_INPUT_FIELDS:04d}"

    per_output = WIDE_INPUTS * WIDE_INPUT_FIELDS // WIDE_OUTPUT_FIELDS
    inputs = [dataset(s, {"schema": facet(SCHEMA_FACET_URL, fields=[
        {"name": f"c{k:04d}", "type": "varchar"} for k in range(WIDE_INPUT_FIELDS)])})
        for s in sources]
    lineage = {}
    for o in range(WIDE_OUTPUT_FIELDS):
        lineage[f"m{o:02d}"] = {"inputFields": [
            {"namespace": DS_NS, "name": src, "field": f,
             "transformations": [{"type": "DIRECT", "subtype": "AGGREGATION",
                                  "description": "sum", "masking": False}]}
            for src, f in map(field_of, range(o * per_output, (o + 1) * per_output))]}
    output = dataset(WIDE_NAME, {
        "schema": facet(SCHEMA_FACET_URL, fields=[
            {"name": f"m{o:02d}", "type": "number"} for o in range(WIDE_OUTPUT_FIELDS)]),
        "columnLineage": facet(COLUMN_LINEAGE_URL, fields=lineage)})
    return run_event(rng, n, "marts.build_customer_360_wide", inputs, [output])


def events(dag: list[Job], rng: random.Random) -> Iterator[dict]:
    for n, job in enumerate(dag):
        yield run_event(rng, n, job_name(job.output),
                        [dataset(table_name(t)) for t in job.inputs],
                        [dataset(table_name(job.output))])
    middle = [j.output for j in dag if j.output[1] == LAYERS // 2]
    sources = [table_name(t) for t in rng.sample(middle, min(WIDE_INPUTS, len(middle)))]
    if len(sources) == WIDE_INPUTS:
        yield wide_event(rng, len(dag), sources)


def load(log_path: Path, dag: list[Job], rng: random.Random) -> tuple[int, int, float]:
    """Validate, turn into log records and append in batches; (events, bytes, seconds)."""
    validator = EventValidator()
    log = SqliteLog(log_path)
    count, started = 0, time.perf_counter()
    batch = []
    try:
        for event in events(dag, rng):
            validated = validator.validate(event)
            if validated.warnings or validated.invalid_facets or validated.spec_version != "2-0-2":
                raise SystemExit(f"generated event not clean: {validated.warnings} "
                                 f"{validated.invalid_facets}")
            batch.append(to_record(validated))
            count += 1
            if len(batch) == BATCH:
                log.append_all(batch)
                batch = []
        if batch:
            log.append_all(batch)
    finally:
        log.close()
    return count, log_path.stat().st_size, time.perf_counter() - started


def write_and_project(settings: Settings, dag: list[Job], rng: random.Random) -> None:
    count, log_bytes, seconds = load(settings.data_dir / "log.sqlite", dag, rng)
    print(f"write path (validate + to_record + append_all by {BATCH}): {count} events, "
          f"all valid against 2-0-2 without warnings "
          f"({log_bytes / 1e6:.0f} MB log) in {seconds:.1f} s = {count / seconds:.0f} "
          f"events/s")
    wide = f"{WIDE_INPUTS * WIDE_INPUT_FIELDS:,} upstream fields"
    print(f"wide dataset {WIDE_NAME}: {WIDE_OUTPUT_FIELDS} fields from {wide} of "
          f"{WIDE_INPUTS} datasets, {WIDE_INPUTS * WIDE_INPUT_FIELDS:,} field edges")
    t0 = time.perf_counter()
    rt = open_runtime(settings)
    seconds = time.perf_counter() - t0
    rt.close()
    print(f"projection on start: {count} events in {seconds:.1f} s = "
          f"{count / seconds:.0f} events/s; store {size_mb(settings.data_dir / 'graph'):.0f} MB")


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


@contextmanager
def server(data_dir: Path, port: int, log_file: Path) -> Iterator[tuple[str, int]]:
    url = f"http://127.0.0.1:{port}"
    with log_file.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dpgraph.cli", "serve", "--port", str(port),
             "--data-dir", str(data_dir)], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start:\n{log_file.read_text()[-3000:]}")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_cypher_view(client: httpx.Client) -> float:
    """Seconds until the server's Cypher view has every log record (it follows the log in
    the core's background thread, and would otherwise compete with the timed reads)."""
    t0 = time.perf_counter()
    while True:
        offsets = client.get("/health").json()["offsets"]
        if offsets["cypher"] >= offsets["log"]:
            return time.perf_counter() - t0
        time.sleep(1)


def timed_get(client: httpx.Client, path: str, node_id: str, depth: int
              ) -> tuple[float, dict]:
    t0 = time.perf_counter()
    response = client.get(path, params={"nodeId": node_id, "depth": depth})
    ms = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{path} {node_id}: {response.status_code} {response.text[:500]}")
    return ms, response.json()


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 95):.1f} ms, "
            f"max {max(values):.1f} ms")


class TimedSelect:
    """Wraps the store's select: runs each query to its last row, adding up time and rows."""

    def __init__(self, select: Callable[[str], Iterable[Any]]) -> None:
        self.select = select
        self.ms, self.calls, self.rows = 0.0, 0, 0

    def __call__(self, sparql: str) -> list[Any]:
        t0 = time.perf_counter()
        rows = list(self.select(sparql))
        self.ms += (time.perf_counter() - t0) * 1000
        self.calls += 1
        self.rows += len(rows)
        return rows


def profile(settings: Settings, lineage_node: str, wide_node: str) -> None:
    """One lineage and one column-lineage read in-process (server stopped): wall time, the
    share spent in SPARQL, then cProfile."""
    rt = open_runtime(settings)
    timed = TimedSelect(rt.store.select)
    rt.store.select = timed  # type: ignore[method-assign]
    try:
        for label, call in (("lineage " + lineage_node,
                             lambda: rt.lineage_read.lineage(lineage_node, DEPTH)),
                            ("column-lineage " + wide_node,
                             lambda: rt.lineage_read.column_lineage(wide_node, DEPTH))):
            walls, sparql = [], []
            for _ in range(3):
                timed.ms, timed.calls, timed.rows = 0.0, 0, 0
                t0 = time.perf_counter()
                answer = call()
                walls.append((time.perf_counter() - t0) * 1000)
                sparql.append(timed.ms)
            t0 = time.perf_counter()
            body = json.dumps(answer)
            dumped = (time.perf_counter() - t0) * 1000
            print(f"\n{label}: in-process (no HTTP) p50 of 3 {statistics.median(walls):.0f} ms, "
                  f"of which SPARQL (query and all rows) {statistics.median(sparql):.0f} ms in "
                  f"{timed.calls} queries returning {timed.rows:,} rows; json.dumps of the "
                  f"answer {dumped:.0f} ms ({len(body) / 1e6:.1f} MB)")
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            prof.runcall(call)
            took = (time.perf_counter() - t0) * 1000
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(25)
            print(f"--- profile: {label} ({took:.0f} ms under cProfile)")
            print("\n".join(text.getvalue().splitlines()[4:40]))
    finally:
        rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--samples", type=int, default=50, help="datasets queried at depth 20")
    parser.add_argument("--column-runs", type=int, default=5,
                        help="times the wide dataset's column lineage is read")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="time the reads on the data directory a --keep run left (same "
                             "--jobs and --seed), without writing and projecting it again")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--profile", action="store_true",
                        help="afterwards, profile the slowest lineage read and the column "
                             "lineage read in-process with cProfile")
    args = parser.parse_args()
    if args.jobs < WIDTH * (LAYERS // 2 + 1):
        parser.error(f"--jobs must be at least {WIDTH * (LAYERS // 2 + 1)}")

    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="dpgraph-lineage-bench-"))
    data_dir = args.reuse or tmp / "data"
    try:
        t0 = time.perf_counter()
        dag = generate(args.jobs, rng)
        inputs = sum(len(j.inputs) for j in dag)
        sources = len({t for j in dag for t in j.inputs if t[1] == 0})
        fan_in = statistics.mean(len(j.inputs) for j in dag)
        cross = sum(t[0] != j.output[0] for j in dag for t in j.inputs)
        print(f"graph: {args.jobs} jobs in {-(-args.jobs // (WIDTH * LAYERS))} domains of "
              f"{LAYERS} layers x {WIDTH}, {args.jobs + sources} datasets ({sources} raw "
              f"sources); edges {inputs + args.jobs:,} ({inputs:,} inputs, mean fan-in "
              f"{fan_in:.2f}, {cross:,} cross-domain; {args.jobs:,} outputs); "
              f"generated in {time.perf_counter() - t0:.1f} s")

        settings = Settings(data_dir=data_dir)
        if args.reuse:
            for _ in events(dag, rng):  # the samples below are drawn after the events' draws
                pass
            print(f"reusing {data_dir}")
        else:
            write_and_project(settings, dag, rng)

        middle = [j.output for j in dag if LAYERS // 3 <= j.output[1] <= 2 * LAYERS // 3]
        picked = rng.sample(middle, min(len(middle), args.samples + 3))
        warm, samples = picked[:3], picked[3:]
        wide_node = f"dataset:{DS_NS}:{WIDE_NAME}"
        del dag, middle  # the bench's own heap would lengthen its GC pauses while timing
        gc.collect()
        port = args.port or free_port()
        with server(data_dir, port, tmp / "server.log") as (url, pid), \
                httpx.Client(base_url=url, timeout=600) as client:
            waited = wait_for_cypher_view(client)
            print(f"Cypher view caught up with the log {waited:.0f} s after the server was "
                  f"up (reads are timed after it, in steady state)")
            cold = [timed_get(client, "/api/v1/lineage", f"dataset:{DS_NS}:{table_name(t)}",
                              DEPTH)[0] for t in warm]
            lat, nodes, jobs_in, slowest = [], [], [], ("", 0.0)
            for t in samples:
                node_id = f"dataset:{DS_NS}:{table_name(t)}"
                ms, body = timed_get(client, "/api/v1/lineage", node_id, DEPTH)
                lat.append(ms)
                nodes.append(len(body["graph"]))
                jobs_in.append(sum(n["type"] == "JOB" for n in body["graph"]))
                if ms > slowest[1]:
                    slowest = (node_id, ms)
            print(f"lineage depth {DEPTH}, {len(samples)} datasets of layers "
                  f"{LAYERS // 3}-{2 * LAYERS // 3} (after {len(warm)} warm-up reads: "
                  f"{', '.join(f'{c:.0f}' for c in cold)} ms): {summary(lat)}  "
                  f"[target p95 < 50 ms]")
            print(f"  nodes returned: min {min(nodes)}, p50 {statistics.median(nodes):.0f}, "
                  f"p95 {percentile(nodes, 95)}, max {max(nodes)}, mean "
                  f"{statistics.mean(nodes):.0f} (jobs p50 {statistics.median(jobs_in):.0f})")
            print(f"  sizes: {' '.join(map(str, nodes))}")
            per_k = [m / n * 1000 for m, n in zip(lat, nodes, strict=True)]
            print(f"  latency per 1,000 nodes returned: p50 {statistics.median(per_k):.0f} ms")
            col, col_nodes, col_edges = [], 0, 0
            for _ in range(args.column_runs):
                ms, body = timed_get(client, "/api/v1/column-lineage", wide_node, DEPTH)
                col.append(ms)
                col_nodes = len(body["graph"])
                col_edges = sum(len(n["inEdges"]) for n in body["graph"])
            print(f"column lineage depth {DEPTH} of {WIDE_NAME}, {args.column_runs} read(s): "
                  f"{', '.join(f'{c:.0f}' for c in col)} ms (p50 {statistics.median(col):.0f}"
                  f" ms); {col_nodes} nodes, {col_edges} edges  [target < 250 ms]")
            print(f"server RSS after the reads: {service_rss(pid)}")
        if args.profile:
            profile(settings, slowest[0], wide_node)
    finally:
        if args.keep and not args.reuse:
            print(f"data kept in {data_dir}")
        else:  # with --reuse, tmp holds the server's output only
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
