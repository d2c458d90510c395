"""The graph store interface and its backend registry.

Backends are plug-ins with a ``kind`` (the OpenLineage client's transport pattern): the
embedded pyoxigraph store is ``oxigraph``, any SPARQL 1.1 store over HTTP is ``sparql``. Each
factory builds its store from the settings. Services depend on this interface only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from pyoxigraph import NamedNode, Quad, QuerySolutions, Triple

from dpgraph.errors import DpgraphError

if TYPE_CHECKING:
    from dpgraph.settings import Settings

# What a user query can answer in, canonical media type first in each kind's order of
# preference (the first is the answer to "*/*").
RESULTS_MEDIA_TYPES = ("application/sparql-results+json", "application/sparql-results+xml",
                       "text/csv", "text/tab-separated-values")
GRAPH_MEDIA_TYPES = ("text/turtle", "application/n-triples", "application/ld+json",
                     "application/rdf+xml")


@dataclass(frozen=True)
class UserQuery:
    """A SPARQL query from a user, with everything a backend needs to answer it: plain values,
    so that a remote backend can forward it as a SPARQL Protocol request.

    ``default_graphs`` / ``named_graphs`` are the protocol's ``default-graph-uri`` /
    ``named-graph-uri``; when both are empty the default graph is the union of all named
    graphs and every named graph is available to ``GRAPH`` (``union_default_graph`` False
    leaves the store's own default graph, for a query naming its dataset with ``FROM``).
    ``results_media`` (SELECT, ASK)
    and ``graph_media`` (CONSTRUCT, DESCRIBE) are the negotiated answer formats, ``None``
    where the client accepts none (the query then fails with NotAcceptable).
    """

    sparql: str
    timeout: float
    results_media: str | None = RESULTS_MEDIA_TYPES[0]
    graph_media: str | None = GRAPH_MEDIA_TYPES[0]
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    union_default_graph: bool = True


@dataclass(frozen=True)
class QueryAnswer:
    body: bytes
    media_type: str


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

    def answer_query(self, query: UserQuery) -> QueryAnswer:
        """Run a user's read-only query, stopped at ``query.timeout`` seconds; the answer is
        serialised. Raises QuerySyntaxError, QueryTimeout, NotAcceptable."""

    def quads(self) -> Iterator[Quad]: ...

    def clear(self) -> None: ...

    def optimize(self) -> None:
        """Compact the store for reads after large writes (may take minutes); reads and
        writes go on meanwhile."""

    def close(self) -> None: ...


def graph_holds(store: GraphStore, graph: NamedNode, predicate: NamedNode | None = None
                ) -> bool:
    """Whether the named graph holds a triple (with this predicate, if one is given)."""
    p = "?p" if predicate is None else f"<{predicate.value}>"
    return store.ask(f"ASK {{ GRAPH <{graph.value}> {{ ?s {p} ?o }} }}")


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
