"""Where the projection's time goes: corpus RunEvents (fresh runIds) appended to the log and
projected through the service's own ``Projector`` and followers, in batches as the projection
worker takes them, in a data directory opened as `dpgraph serve`'s core opens it (the Cypher
view in its own process, following the same log on the other core).

Prints the events projected per second, the CPU of the projecting thread per event and how
it splits between the mapping, the graph store's write and each follower, the CPU of the
process's other threads (RocksDB's compaction, the bulk loader's), and how busy the whole
machine was. ``--store-writes none`` skips the graph store's writes (everything else runs):
the rate the rest of the projection allows, whatever the store. Not a test: run it by hand,
e.g. ``python bench/projection.py --events 30000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import cpu_seconds, descendants, stat_cpu_seconds
from ingest import RUN_ID, corpus_bodies

from dpgraph.lineage.validation import EventValidator
from dpgraph.runtime import open_runtime
from dpgraph.services import projector as projector_module
from dpgraph.services.lineage import to_record
from dpgraph.settings import Settings


class PartTimes:
    """Thread CPU and wall time spent in each wrapped callable, by part name."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)

    def wrap(self, part: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.cpu[part] += time.thread_time() - cpu
                self.wall[part] += time.perf_counter() - wall
        return timed


def machine_ticks() -> tuple[int, int]:
    """(all, idle + iowait) clock ticks of the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def thread_cpu_by_name() -> dict[str, float]:
    """CPU seconds of this process's threads, summed by thread name (RocksDB names its
    own; threads started from Python, the bulk loader's included, are all ``python``)."""
    out: dict[str, float] = defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            out[(task / "comm").read_text().strip()] += stat_cpu_seconds(task / "stat")
        except OSError:
            continue  # the thread ended meanwhile
    return out


def process_cpu() -> float:
    """CPU seconds of this process, threads that have ended included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=2_000,
                        help="records per projected batch (the worker takes up to 2,000)")
    parser.add_argument("--store-writes", choices=("all", "none"), default="all")
    args = parser.parse_args()

    validator, bodies = EventValidator(), corpus_bodies()
    records = [to_record(validator.validate(json.loads(
        bodies[i % len(bodies)].replace(RUN_ID, str(uuid.uuid4())))))
        for i in range(args.events)]
    with tempfile.TemporaryDirectory(prefix="dpgraph-projection-bench-") as directory:
        runtime = open_runtime(Settings(data_dir=Path(directory)), catch_up=True,
                               view_process=True)
        projector, times = runtime.projector, PartTimes()
        # The projector calls these through module and instance attributes: wrapping them
        # there times each part where it runs, with nothing else changed.
        projector_module.lineage_quads = times.wrap("mapping", projector_module.lineage_quads)
        store = projector._store
        write = store.add_quads if args.store_writes == "all" else (lambda quads: None)
        store.add_quads = times.wrap("graph store write", write)  # type: ignore[method-assign]
        if projector._events is not None:
            projector._events.add = times.wrap(  # type: ignore[method-assign]
                "LineageIndex", projector._events.add)
        for follower in projector._followers:
            for method in ("apply_mapped", "apply"):
                if hasattr(follower, method):
                    setattr(follower, method,
                            times.wrap(type(follower).__name__, getattr(follower, method)))
        def children_cpu() -> float:
            return sum(cpu_seconds(child) for child in descendants(os.getpid()))

        threads_before, (all0, idle0) = thread_cpu_by_name(), machine_ticks()
        children0, process0 = children_cpu(), process_cpu()
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        for start in range(0, args.events, args.batch):
            projector.apply_batch(runtime.log.append(records[start:start + args.batch]))
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        threads_after, (all1, idle1) = thread_cpu_by_name(), machine_ticks()
        children, process = children_cpu() - children0, process_cpu() - process0

        n = args.events
        print(f"{n} corpus events, batches of {args.batch}, store writes: {args.store_writes}")
        print(f"projected: {n / wall:,.0f} events/s ({wall:.1f} s); projecting thread "
              f"{cpu * 1e3 / n:.3f} ms CPU per event")
        print("projecting thread by part     CPU ms/event   wall ms/event")
        for part, seconds in sorted(times.cpu.items(), key=lambda kv: -kv[1]):
            print(f"  {part:28} {seconds * 1e3 / n:12.3f} {times.wall[part] * 1e3 / n:15.3f}")
        print(f"  {'(the rest)':28} {(cpu - sum(times.cpu.values())) * 1e3 / n:12.3f}")
        print(f"process: {process * 1e3 / n:.3f} ms CPU per event, by thread:")
        live = 0.0
        for name, seconds in sorted(threads_after.items(), key=lambda kv: -kv[1]):
            spent = seconds - threads_before.get(name, 0.0)
            live += spent
            if spent > 0:
                print(f"  {name:28} {spent * 1e3 / n:12.3f}")
        print(f"  {'threads that ended':28} {(process - live) * 1e3 / n:12.3f}"
              "  (the bulk loader's, one set per write)")
        print(f"child processes (the Cypher view's), CPU ms/event: {children * 1e3 / n:.3f}")
        ticks = all1 - all0
        print(f"machine: {100 * (ticks - (idle1 - idle0)) / ticks:.0f}% busy over "
              f"{os.cpu_count()} cores (the Cypher view's process included)")
        os._exit(0)  # the view's process and the worker threads end with us


if __name__ == "__main__":
    main()
