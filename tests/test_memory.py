"""Free memory given back to the system: really (on glibc), and not too often."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from dpgraph.memory import PeriodicGiveBack

# In a fresh interpreter: 200 MiB of small malloc blocks, all freed but every 1,000th, so
# the heap's top cannot shrink and glibc keeps the freed pages resident until a trim.
HELD_AFTER_FREE = textwrap.dedent("""
    import ctypes
    from dpgraph.memory import give_back_free_memory

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]

    def resident_mib():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 // 2**20

    blocks = [libc.malloc(1024) for _ in range(200_000)]
    for i, block in enumerate(blocks):
        ctypes.memset(block, 1, 1024)
    for i, block in enumerate(blocks):
        if i % 1000:
            libc.free(block)
    before = resident_mib()
    assert give_back_free_memory()
    print(before, resident_mib())
""")


def test_freed_native_memory_leaves_the_process() -> None:
    out = subprocess.run([sys.executable, "-c", HELD_AFTER_FREE], capture_output=True,
                         text=True, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert before - after > 150, (before, after)  # ~195 MiB of the 200 were free


def test_gives_back_after_work_at_most_once_per_interval() -> None:
    now = [100.0]
    calls: list[float] = []

    def give_back() -> bool:
        calls.append(now[0])
        return True

    memory = PeriodicGiveBack(every_seconds=10.0, clock=lambda: now[0], give_back=give_back)
    assert memory.after_work()  # the first work is given back at once
    for step in (1.0, 5.0, 9.9):
        now[0] = 100.0 + step
        assert not memory.after_work()
    now[0] = 110.0
    assert memory.after_work()
    now[0] = 119.0
    assert not memory.after_work()
    assert calls == [100.0, 110.0]
