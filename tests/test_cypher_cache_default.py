"""The embedded engine's default page cache: a quarter of the machine's memory, at least 1 GiB
(1 GiB could not build the view of 10,000 products; Kùzu's own 80% crowds out the rest)."""

from __future__ import annotations

from pathlib import Path

from dpgraph.cypher.base import default_cache_mb, open_backend
from dpgraph.settings import Settings


def mem_total_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def test_the_default_is_a_quarter_of_the_machines_memory_and_at_least_1_gib() -> None:
    expected = max(1024, mem_total_mb() // 4)
    assert abs(default_cache_mb() - expected) <= 64  # the kernel's own reserve aside


def test_a_set_size_wins_and_an_unset_one_is_the_default(tmp_path: Path) -> None:
    for setting, expected in ((96, 96), (None, default_cache_mb())):
        settings = Settings(data_dir=tmp_path / str(setting), cypher_buffer_pool_mb=setting)
        backend = open_backend(settings)
        try:
            assert backend._buffer_pool_bytes == expected * 2**20  # type: ignore[attr-defined]
        finally:
            backend.close()
