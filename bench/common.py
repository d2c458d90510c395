"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """Child processes of ``pid``, whichever of its threads started them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            found += [int(c) for c in task.read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    out = []
    for child in children(pid):
        out += [child, *descendants(child)]
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _ingest_worker(pid: int) -> bool:
    try:
        return b"--listen-fd" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False


def service_processes(pid: int) -> tuple[list[int], list[int]]:
    """`dpgraph serve`'s acknowledging processes (the front ``pid`` and its ingest workers)
    and its core process(es)."""
    started = children(pid)
    workers = [c for c in started if _ingest_worker(c)]
    return [pid, *workers], [c for c in started if c not in workers]


def service_rss(pid: int) -> str:
    """RSS of `dpgraph serve`: its ingest front (``pid``) and workers, the core process
    behind them and the core's own children (the Cypher view's process, multiprocessing's
    tracker)."""
    fronts, cores = service_processes(pid)
    front = sum(rss_mib(f) for f in fronts)
    core = sum(rss_mib(c) for c in cores)
    rest = sum(rss_mib(d) for c in cores for d in descendants(c))
    return (f"{front + core + rest:.0f} MiB (front and {len(fronts) - 1} ingest workers "
            f"{front:.0f}, core {core:.0f}, its children {rest:.0f})")


def stat_cpu_seconds(stat: Path) -> float:
    """User + system CPU time in a ``/proc`` ``stat`` file: a process's, or a thread's
    (``/proc/PID/task/TID/stat``). Raises OSError once it is gone."""
    fields = stat.read_text().rsplit(") ", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (0 once it is gone)."""
    try:
        return stat_cpu_seconds(Path(f"/proc/{pid}/stat"))
    except FileNotFoundError:
        return 0.0


def service_cpu(pid: int) -> dict[str, float]:
    """CPU seconds used so far by the front and its ingest workers, the core and the core's
    children."""
    fronts, cores = service_processes(pid)
    return {"front": sum(cpu_seconds(f) for f in fronts),
            "core": sum(cpu_seconds(c) for c in cores),
            "view": sum(cpu_seconds(d) for c in cores for d in descendants(c))}
