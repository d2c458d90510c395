"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

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
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def service_rss(pid: int) -> str:
    """RSS of `dpgraph serve`: its ingest front (``pid``) and the core process behind it."""
    front, core = rss_mib(pid), sum(rss_mib(c) for c in children(pid))
    return f"{front + core:.0f} MiB (front {front:.0f}, core {core:.0f})"
