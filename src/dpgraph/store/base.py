"""The graph store interface and its backend registry.

Backends are plug-ins with a ``kind`` (the OpenLineage client's transport pattern): the
embedded pyoxigraph store is ``oxigraph``, any SPARQL 1.1 store over HTTP is ``sparql``. Each
factory builds its store from the settings. Services depend on this interface only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol

from pyoxigraph import NamedNode, Quad, QuerySolutions, Triple

from dpgraph.errors import DpgraphError

if TYPE_CHECKING:
    from dpgraph.settings import Settings


class GraphStore(Protocol):
    kind: ClassVar[str]

    def replace_graphs(self, graphs: Mapping[NamedNode, Sequence[Triple]]) -> None:
        """Atomically make each named graph hold exactly its triples."""

    def add_quads(self, quads: Sequence[Quad]) -> None:
        """Insert quads in one transaction (already present ones change nothing)."""

    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 Update atomically."""

    def select(self, sparql: str) -> QuerySolutions:
        """SELECT over the union of all named graphs."""

    def ask(self, sparql: str) -> bool: ...

    def construct(self, sparql: str) -> list[Triple]: ...

    def graph_triples(self, graph: NamedNode) -> list[Triple]: ...

    def quads(self) -> Iterator[Quad]: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


StoreFactory = Callable[["Settings"], GraphStore]
_BACKENDS: dict[str, StoreFactory] = {}


def register_backend(kind: str, factory: StoreFactory) -> None:
    _BACKENDS[kind] = factory


def open_store(settings: Settings) -> GraphStore:
    kind = settings.store
    # Imported lazily so start-up only loads the backend in use.
    if kind == "oxigraph" and kind not in _BACKENDS:
        from dpgraph.store import oxigraph_store  # noqa: F401
    if kind == "sparql" and kind not in _BACKENDS:
        from dpgraph.store import sparql_http_store  # noqa: F401
    try:
        factory = _BACKENDS[kind]
    except KeyError:
        known = ", ".join(sorted({*_BACKENDS, "oxigraph", "sparql"}))
        raise DpgraphError(
            f"unknown store kind {kind!r}; set DPGRAPH_STORE to one of: {known}") from None
    return factory(settings)
