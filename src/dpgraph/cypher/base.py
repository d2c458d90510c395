"""The interface every Cypher backend implements (embedded engine, Bolt server)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Protocol

from dpgraph.cypher.model import Change, Statement
from dpgraph.cypher.relink import Link
from dpgraph.errors import DpgraphError

Row = dict[str, Any]


class CypherBackend(Protocol):
    kind: ClassVar[str]
    # Opened with no data of its own (its files created at open, e.g. after being discarded):
    # the view then starts again from the beginning of the log, whatever its offset says.
    fresh: bool
    # The log offset the view's writes start after, set by the view before it writes (the
    # embedded backend keeps it with a marker of the write in flight, see write_guard).
    position: int
    # Most changes one write transaction should hold (an embedded engine's page cache bounds
    # what a transaction can write); None: no bound. The view splits its pages to fit.
    changes_per_transaction: int | None

    def apply(self, changes: Sequence[Change]) -> None:
        """Apply changes in order (see dpgraph.cypher.model for their idempotent semantics).
        A batch may be applied again after a failure and must land in the same state."""

    def run(self, statements: Sequence[Statement]) -> None:
        """Run shared openCypher write statements in order; they are idempotent MERGEs, so
        running them again changes nothing."""

    def link(self, links: Sequence[Link]) -> None:
        """Draw the projection's relink step (dpgraph.cypher.relink), in order; drawing a
        link again changes nothing."""

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *,
              timeout: float) -> list[Row]:
        """Run a read query; rows map column names to JSON-ready values. A node comes back
        as its properties plus ``_labels`` (list of str); a relationship as its properties
        plus ``_type``; a path as ``{"nodes": [...], "relationships": [...]}``."""

    def clear(self) -> None:
        """Remove every node and relationship (replay starts from an empty view)."""

    def close(self) -> None: ...


# --- backend registry (as dpgraph.store.base does for graph stores) ---------------------------

BackendFactory = Callable[[Any], CypherBackend]  # called with the Settings
_BACKENDS: dict[str, BackendFactory] = {}


def register_backend(kind: str, factory: BackendFactory) -> None:
    """Make a backend selectable by ``DPGRAPH_CYPHER=<kind>`` (the Bolt backend registers
    ``bolt`` here)."""
    _BACKENDS[kind] = factory


def _embedded(settings: Any) -> CypherBackend:
    from dpgraph.cypher.embedded import EmbeddedCypher

    cache_mb = settings.cypher_buffer_pool_mb or default_cache_mb()
    return EmbeddedCypher(settings.data_dir / "cypher", engine_module=settings.cypher_engine,
                          buffer_pool_bytes=cache_mb * 1024 * 1024)


def default_cache_mb() -> int:
    """A quarter of the machine's physical memory, at least 1 GiB (the engine reserves it as
    address space; memory is taken as pages are cached)."""
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(1024, physical // 4 // 2**20)


def open_backend(settings: Any) -> CypherBackend:
    kind = settings.cypher
    if kind == "bolt" and kind not in _BACKENDS:
        from dpgraph.cypher import bolt  # noqa: F401  (lazily: it imports the neo4j driver)
    factory = _BACKENDS.get(kind) or {"embedded": _embedded}.get(kind)
    if factory is None:
        known = ", ".join(sorted({*_BACKENDS, "embedded"}))
        raise DpgraphError(
            f"unknown Cypher backend {kind!r}; set DPGRAPH_CYPHER to one of: {known}")
    return factory(settings)
