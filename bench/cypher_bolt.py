"""Statements and time the Bolt backend spends per 1,000 changes, against the FalkorDB server
the tests use (built by scripts/falkordb.sh, started here on 127.0.0.1).

    .venv/bin/python bench/cypher_bolt.py --events 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from falkordb_server import FalkorDB

from dpgraph.cypher.bolt import BoltBackend
from dpgraph.cypher.model import Change, NodeUpsert, Ranked, RelUpsert


def event_changes(i: int) -> list[Change]:
    """About what one OpenLineage COMPLETE event of a job reading two datasets makes."""
    job, run, t = f"ns:job-{i % 500}", f"run-{i}", f"2026-01-01T{i % 24:02d}:00:00.000000Z"
    out, ins = f"ns:out-{i % 500}", [f"ns:in-{(i + k) % 700}" for k in (1, 2)]
    changes: list[Change] = [
        NodeUpsert("Job", job, set={"namespace": "ns", "name": job[3:]}),
        NodeUpsert("Run", run, set={"job": job}, latest={"lastEventTime": t},
                   ranked=Ranked("stateRank", 2, "stateTime", t,
                                 {"state": "COMPLETE", "endedAt": t})),
        RelUpsert("OF_JOB", "Run", run, "Job", job),
        RelUpsert("WRITES", "Job", job, "Dataset", out, earliest={"firstSeen": t},
                  latest={"lastSeen": t}),
        RelUpsert("WROTE", "Run", run, "Dataset", out),
    ]
    for d in ins:
        changes += [RelUpsert("READS", "Job", job, "Dataset", d, earliest={"firstSeen": t},
                              latest={"lastSeen": t}),
                    RelUpsert("READ", "Run", run, "Dataset", d),
                    RelUpsert("DERIVED_FROM", "Field", f"{out}:total", "Field", f"{d}:amount",
                              set={"transformationType": "DIRECT", "masking": False})]
    return changes


def measure(backend: BoltBackend, changes: list[Change], batch: int) -> tuple[float, float]:
    """(statements, ms) per 1,000 changes, applying ``changes`` in batches of ``batch``."""
    sent = backend.statements_sent
    started = time.perf_counter()
    for start in range(0, len(changes), batch):
        backend.apply(changes[start:start + batch])
    elapsed = time.perf_counter() - started
    per = 1000 / len(changes)
    return (backend.statements_sent - sent) * per, elapsed * 1000 * per


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    changes = [c for i in range(args.events) for c in event_changes(i)]
    server = FalkorDB(Path(tempfile.mkdtemp(prefix="bench-falkordb-")))
    try:
        backend = BoltBackend(server.uri, server.user, server.password, server="falkordb",
                              connect_timeout=1.0)
        print(f"{len(changes):,} changes ({args.events:,} events)")
        print("| batch (changes) | statements / 1,000 changes | ms / 1,000 changes "
              "| again (all present) ms / 1,000 |")
        print("|---|---|---|---|")
        for batch in (1, 14, 140, 1400, 14000):
            subset = changes if batch > 1 else changes[:2000]
            backend.clear()
            statements, ms = measure(backend, subset, batch)
            _, again = measure(backend, subset, batch)
            print(f"| {batch:,} | {statements:,.1f} | {ms:,.1f} | {again:,.1f} |")
        backend.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
