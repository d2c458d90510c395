"""User SPARQL queries: read-only, bounded in time, and never older than the last
acknowledged write."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from pyoxigraph import NamedNode

from dpgraph.errors import Finding, InvalidInput, QuerySyntaxError, QueryTimeout
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.sparql_checks import inspect_query, refuse_if_update
from dpgraph.store.base import GraphStore, QueryAnswer, UserQuery


@dataclass(frozen=True)
class QueryLimits:
    timeout: float  # seconds; a request may ask for less, never for more


class SparqlService:
    def __init__(self, store: GraphStore, projection: ProjectionWorker,
                 limits: QueryLimits) -> None:
        self._store = store
        self._projection = projection
        self._limits = limits

    def query(self, query: UserQuery) -> QueryAnswer:
        """Answer ``query`` within its timeout, capped by the configured limit. Raises
        ReadOnlyQuery, QuerySyntaxError, QueryTimeout, NotAcceptable."""
        if not query.timeout > 0:
            raise InvalidInput("timeout must be a positive number of seconds")
        _check_graph_iris(query)
        limit = min(query.timeout, self._limits.timeout)
        started = time.monotonic()
        shape = inspect_query(query.sparql)
        self._projection.wait_for_log()  # read your writes
        remaining = limit - (time.monotonic() - started)
        if remaining <= 0:
            raise QueryTimeout(f"the query ran longer than its limit of {limit:g} s")
        union = not (shape.names_dataset or query.default_graphs or query.named_graphs)
        try:
            return self._store.answer_query(
                replace(query, timeout=remaining, union_default_graph=union))
        except QuerySyntaxError:
            refuse_if_update(query.sparql)
            raise
        except QueryTimeout as exc:
            raise QueryTimeout(f"{exc.detail}; the limit for this query is {limit:g} s "
                               "(timeout parameter, at most DPGRAPH_SPARQL_TIMEOUT)") from exc


def _check_graph_iris(query: UserQuery) -> None:
    for field, iris in (("default-graph-uri", query.default_graphs),
                        ("named-graph-uri", query.named_graphs)):
        for iri in iris:
            try:
                NamedNode(iri)
            except ValueError as exc:
                message = f"{iri!r} is not an absolute IRI: {exc}"
                raise InvalidInput(message, errors=[
                    Finding("violation", message, field, "sparql-protocol:iri", value=iri)
                ]) from exc
