"""Garbage-collector settings shared by the service and `dpgraph replay`.

Both allocate many containers per event (a parsed event, its quads, the followers' rows)
that die young, next to objects that live as long as the process (indexes, caches,
imported modules). CPython's young generation of 700 objects collects several times per
event, and each full collection walks every long-lived object again.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION = 50_000  # objects allocated between young collections (CPython: 700)


def collect_young_less_often() -> None:
    gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


def spare_long_lived_objects() -> None:
    """Move what is alive now out of the collector's reach, then collect young less often."""
    gc.freeze()
    collect_young_less_often()
