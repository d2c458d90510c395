"""Mapping benchmark: CPU time of ``event_to_quads`` (one OpenLineage event to its quads).

The events are the corpus's ``valid/`` events (``--corpus mix`` adds every ``partial/`` and
``invalid/`` event the receiver accepts), each passed through the receiver's validator and
record builder first, so the mapping gets what the projector gives it: the record digest as
``event_id``, an ISO ``received_at``, the receiver's warnings and invalid facet pointers.
Each pass gives the RunEvents fresh runIds (as ``bench/ingest.py`` does), so per-process
caches of run IRIs do not flatter the figures; ``--same-run-ids`` maps the same events every
pass. Prints µs/event and quads/event.

``--write-golden`` / ``--check-golden`` save or compare the exact output (``str`` of every
quad, in order, or the exception) for every JSON file of the corpus, accepted or not, once more
with every facet marked invalid and receiver warnings (the raw-facet path), templates from
``partial/`` given an eventTime and runId, and every spec facet example in each facet slot: a
check that an optimisation of the mapping changed nothing (write the file with the code before
the change). Not a test: run it by hand, e.g.
``PYTHONPATH=src python bench/mapping.py --passes 20``; ``--profile`` runs the passes under
cProfile (mapping only).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import hashlib
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from dpgraph.errors import DpgraphError
from dpgraph.lineage.mapping import event_to_quads
from dpgraph.lineage.validation import EventValidator, iter_facets
from dpgraph.services.lineage import to_record

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
CORPUS = SHARED / "corpus" / "openlineage"
RECEIVED_AT = "2026-01-02T03:04:05.678901Z"

Call = tuple[dict[str, Any], dict[str, Any]]  # (event, keyword arguments of event_to_quads)


def load(folders: list[str]) -> list[tuple[str, Any]]:
    """(path relative to the corpus, parsed JSON) of every JSON file under ``folders``."""
    out = []
    for folder in folders:
        for path in sorted((CORPUS / folder).rglob("*.json")):
            out.append((str(path.relative_to(CORPUS)),
                        json.loads(path.read_text(encoding="utf-8"))))
    return out


def receive(validator: EventValidator, event: Any) -> Call | None:
    """What the projector would pass for ``event``; None if the receiver refuses it."""
    if not isinstance(event, dict):
        return None
    try:
        record = to_record(validator.validate(event))
    except DpgraphError:
        return None
    p = record.payload
    assert record.digest is not None
    return event, {"event_id": record.digest, "received_at": RECEIVED_AT,
                   "warnings": p.get("warnings") or None,
                   "invalid_facets": frozenset(p.get("invalidFacets", ()))}


def with_fresh_run_id(call: Call) -> Call:
    event, kwargs = call
    if not isinstance(event.get("run"), dict):
        return call
    event = copy.deepcopy(event)
    event["run"]["runId"] = str(uuid.uuid4())
    text = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return event, {**kwargs, "event_id": hashlib.sha256(text.encode()).hexdigest()}


def bench(calls: list[Call], passes: int, fresh: bool, profiler: Any = None) -> None:
    quads = sum(len(event_to_quads(e, **kw)) for e, kw in calls)  # warm-up, counts
    per_pass = []
    for _ in range(passes):
        batch = [with_fresh_run_id(c) for c in calls] if fresh else calls
        gc.collect()
        if profiler is not None:
            profiler.enable()
        t0 = time.perf_counter()
        for event, kwargs in batch:
            event_to_quads(event, **kwargs)
        per_pass.append((time.perf_counter() - t0) / len(batch) * 1e6)
        if profiler is not None:
            profiler.disable()
    print(f"events: {len(calls)}, passes: {passes}, "
          f"runIds: {'fresh each pass' if fresh else 'same each pass'}")
    print(f"quads/event: {quads / len(calls):.1f}")
    print(f"µs/event: median {statistics.median(per_pass):.1f}, best {min(per_pass):.1f}, "
          f"worst {max(per_pass):.1f}")


def golden_calls(validator: EventValidator) -> list[tuple[str, Any, dict[str, Any]]]:
    """(label, event, kwargs) for every corpus JSON file, as received and all-facets-invalid."""
    out = []
    for name, data in load(["valid", "partial", "invalid", "facet_examples"]):
        call = receive(validator, data)
        if call is None:
            digest = hashlib.sha256(name.encode()).hexdigest()
            call = data, {"event_id": digest, "received_at": RECEIVED_AT}
        event, kwargs = call
        out.append((name, event, kwargs))
        if isinstance(event, dict):
            pointers = frozenset("/" + "/".join(str(p).replace("~", "~0").replace("/", "~1")
                                                for p in path)
                                 for path, _ in iter_facets(event))
            warnings = [{"rule": "r", "field": "/x", "message": "m", "value": "v"},
                        {"rule": "r2", "pointer": "/y"}]
            out.append((f"{name}#raw", event,
                        {**kwargs, "invalid_facets": pointers, "warnings": warnings}))
            patched = patch_template(event)
            if patched is not None:
                out.append((f"{name}#patched", patched, kwargs))
        if name.startswith("facet_examples/"):
            for label, wrapped in facet_events(name, data):
                digest = hashlib.sha256(label.encode()).hexdigest()
                out.append((label, wrapped, {"event_id": digest, "received_at": RECEIVED_AT}))
    return out


def patch_template(event: dict[str, Any]) -> dict[str, Any] | None:
    """A template event (``partial/``) with an eventTime and runId, so its facets get mapped."""
    patched = copy.deepcopy(event)
    if not isinstance(patched.get("eventTime"), str) or "{" in patched["eventTime"]:
        patched["eventTime"] = "2024-05-06T07:08:09.123+02:00"
    run = patched.get("run")
    if isinstance(run, dict) and (not isinstance(run.get("runId"), str) or not run["runId"]):
        run["runId"] = "0190B2A1-0000-7000-8000-000000000001"
    if patched == event:
        return None
    return patched


def facet_events(name: str, facets: Any) -> list[tuple[str, dict[str, Any]]]:
    """A spec facet example (``facet_examples/``, ``{facet name: facet}``) put in every facet
    slot of a RunEvent, and in a JobEvent and a DatasetEvent."""
    ds = {"namespace": "postgres://db:5432", "name": "shop.public.orders"}
    base = {"eventTime": "2024-05-06T07:08:09Z", "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}
    run_event = {**base, "eventType": "COMPLETE",
                 "run": {"runId": "0190b2a1-0000-7000-8000-000000000002", "facets": facets},
                 "job": {"namespace": "jobs", "name": "etl", "facets": facets},
                 "inputs": [{**ds, "facets": facets, "inputFacets": facets}],
                 "outputs": [{**ds, "facets": facets, "outputFacets": facets},
                             {"namespace": "s3://lake", "name": "gold/orders", "facets": facets}]}
    return [(f"{name}#run", copy.deepcopy(run_event)),
            (f"{name}#job", {**base, "job": {"namespace": "jobs", "name": "etl",
                                              "facets": copy.deepcopy(facets)},
                             "inputs": [copy.deepcopy(ds)]}),
            (f"{name}#dataset", {**base, "dataset": {**ds, "facets": copy.deepcopy(facets)}})]


def golden(validator: EventValidator) -> dict[str, list[str] | str]:
    result: dict[str, list[str] | str] = {}
    for label, event, kwargs in golden_calls(validator):
        try:
            result[label] = [str(q) for q in event_to_quads(event, **kwargs)]
        except Exception as exc:  # the failure is part of the output
            result[label] = f"{type(exc).__name__}: {exc}"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--corpus", choices=("valid", "mix"), default="valid")
    parser.add_argument("--same-run-ids", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the passes instead")
    parser.add_argument("--write-golden", type=Path)
    parser.add_argument("--check-golden", type=Path)
    args = parser.parse_args()
    validator = EventValidator()

    if args.write_golden or args.check_golden:
        t0 = time.perf_counter()
        result = golden(validator)
        mapped = sum(isinstance(r, list) for r in result.values())
        print(f"golden: {len(result)} inputs ({mapped} mapped, {len(result) - mapped} refused), "
              f"{time.perf_counter() - t0:.1f} s, {dt.datetime.now():%H:%M:%S}")
        if args.write_golden:
            args.write_golden.write_text(json.dumps(result, indent=0, ensure_ascii=False))
            print(f"written to {args.write_golden}")
        if args.check_golden:
            expected = json.loads(args.check_golden.read_text())
            differ = [k for k in expected.keys() | result.keys()
                      if expected.get(k) != result.get(k)]
            for k in sorted(differ)[:10]:
                print(f"DIFFERS: {k}")
            print(f"identical: {len(result) - len(differ)} of {len(expected)}")
            if differ:
                sys.exit(1)
        return

    folders = ["valid"] if args.corpus == "valid" else ["valid", "partial", "invalid"]
    calls = [c for _, data in load(folders) if (c := receive(validator, data)) is not None]
    if args.profile:
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        bench(calls, args.passes, not args.same_run_ids, profiler)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return
    bench(calls, args.passes, not args.same_run_ids)


if __name__ == "__main__":
    main()
