"""Remote store: any SPARQL 1.1 store over HTTP (Query, Update, optionally Graph Store Protocol).

Semantics the services rely on, and how this backend keeps them:

- **Union default graph.** Queries without ``GRAPH`` must see every named graph, as the
  embedded store's ``use_default_graph_as_union``. That is the server's configuration
  (``oxigraph serve --union-default-graph``; Virtuoso does it by default); the first write
  checks it and refuses to go on otherwise.
- **One request per registration.** ``replace_graphs`` reads what the graphs hold (one query)
  and sends ONE SPARQL Update request writing the difference (``DELETE DATA`` / ``INSERT
  DATA`` operations); dpgraph is the only writer of its graphs. Whether readers can see
  half of it, and whether a request failing part way leaves earlier operations applied, is up
  to the server: SPARQL 1.1 Update only says implementations SHOULD run a request atomically.
- **Lineage batches are chunked.** ``add_quads`` sends ``CHUNK_QUADS`` quads per request, so a
  failure may leave the first chunks in; the projector retries the whole batch, and inserting
  a quad already there changes nothing.
- **Only dpgraph's graphs.** A remote store may be shared, so ``quads`` and ``clear`` see only
  the named graphs under dpgraph's graph namespace (``GRAPH_NS``), never the store's others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import httpx
from pyoxigraph import (
    BlankNode,
    NamedNode,
    Quad,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Triple,
    parse,
    parse_query_results,
    serialize,
)

from dpgraph.errors import (
    DpgraphError,
    NotAcceptable,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from dpgraph.store.base import QueryAnswer, UserQuery, register_backend
from dpgraph.vocab import ID_NS

if TYPE_CHECKING:
    from dpgraph.settings import Settings

GRAPH_NS = f"{ID_NS}graph/"
CHUNK_QUADS = 5_000
# Virtuoso 7.2's SPARQL compiler runs out of parser memory at ~5,000 triples in one INSERT DATA
# ("SP030 ... memory exhausted"); several smaller operations in one request pass.
TRIPLES_PER_OPERATION = 2_000
DROPS_PER_REQUEST = 500

# XML first: Virtuoso 7.2 writes xsd:boolean as "1"/"0" in JSON and TSV results ("true" in
# XML); pyoxigraph parses either about as fast (100k rows: 0.30 s XML, 0.27 s JSON).
RESULTS_ACCEPT = ("application/sparql-results+xml, application/sparql-results+json;q=0.9, "
                  "text/tab-separated-values;q=0.8")
RDF_ACCEPT = "application/n-triples, text/turtle;q=0.9, application/rdf+xml;q=0.8"
_RESULTS_FORMATS = {
    "application/sparql-results+json": QueryResultsFormat.JSON,
    "application/json": QueryResultsFormat.JSON,
    "application/sparql-results+xml": QueryResultsFormat.XML,
    "application/xml": QueryResultsFormat.XML,
    "text/tab-separated-values": QueryResultsFormat.TSV,
}
_RDF_FORMATS = {
    "application/n-triples": RdfFormat.N_TRIPLES,
    "text/plain": RdfFormat.N_TRIPLES,  # what N-Triples was served as before RDF 1.1
    "text/turtle": RdfFormat.TURTLE,
    "application/rdf+xml": RdfFormat.RDF_XML,
    "application/n-quads": RdfFormat.N_QUADS,
}


class RemoteStoreError(DpgraphError):
    """The store refused a request (4xx): a bug on our side or a store limit, never the
    client's input, so the HTTP layer answers 500 and logs this text."""


class SparqlHttpStore:
    kind: ClassVar[str] = "sparql"

    def __init__(self, query_url: str, update_url: str | None = None,
                 gsp_url: str | None = None, *, auth: httpx.Auth | None = None,
                 timeout: float = 30.0) -> None:
        self._query_url = query_url
        self._update_url = update_url or query_url
        self._gsp_url = gsp_url
        # One pooled client for every thread (request handlers and the projection worker).
        self._http = httpx.Client(auth=auth, timeout=timeout, follow_redirects=True)
        self._union_checked = False
        self._check_lock = threading.Lock()

    # ------------------------------------------------------------------ writes
    def replace_graphs(self, graphs: Mapping[NamedNode, Sequence[Triple]]) -> None:
        if not graphs:
            return
        sparql = replace_graphs_update(graphs, self._current(graphs))
        if sparql:
            self.update(sparql)
        self._check_union_default_graph(graphs)

    def add_quads(self, quads: Sequence[Quad]) -> None:
        for start in range(0, len(quads), CHUNK_QUADS):
            self.update(insert_data(quads[start:start + CHUNK_QUADS]))

    def update(self, sparql: str) -> None:
        self._post(self._update_url, {"update": sparql}, accept="*/*")

    def clear(self) -> None:
        graphs = [row["g"].value for row in self.select(
            f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {_in_namespace('?g')} }}")]
        for start in range(0, len(graphs), DROPS_PER_REQUEST):
            self.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>"
                                    for g in graphs[start:start + DROPS_PER_REQUEST]))

    # ------------------------------------------------------------------ reads
    def select(self, sparql: str) -> QuerySolutions:
        result = self._query_results(sparql)
        if not isinstance(result, QuerySolutions):
            raise RemoteStoreError("the store answered a SELECT query with a boolean")
        return result

    def ask(self, sparql: str) -> bool:
        result = self._query_results(sparql)
        if not isinstance(result, QueryBoolean):
            raise RemoteStoreError("the store answered an ASK query with solutions")
        return bool(result)

    def construct(self, sparql: str) -> list[Triple]:
        response = self._post(self._query_url, {"query": sparql}, accept=RDF_ACCEPT)
        return [q.triple for q in _parse_rdf(response)]

    def graph_triples(self, graph: NamedNode) -> list[Triple]:
        if self._gsp_url is None:
            return self.construct(
                f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}")
        response = self._send("GET", self._gsp_url, params={"graph": graph.value},
                              headers={"Accept": RDF_ACCEPT}, missing_ok=True)
        if response.status_code == 404:  # GSP: a graph that does not exist
            return []
        return [q.triple for q in _parse_rdf(response)]

    def quads(self) -> Iterator[Quad]:
        rows = self.select(f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
                           f"{_in_namespace('?g')} }}")
        return (Quad(row["s"], row["p"], row["o"], row["g"]) for row in rows)  # type: ignore[arg-type]

    def answer_query(self, query: UserQuery) -> QueryAnswer:
        """Forward a user query as a SPARQL Protocol request; the store picks the answer's
        form by the query's kind from the two negotiated media types. The deadline is the
        HTTP client's: past it the connection is dropped (whether the store then stops
        evaluating is the store's business; ``oxigraph serve`` and Virtuoso have their own
        query time limits to set as well)."""
        form: dict[str, str | list[str]] = {"query": query.sparql}
        if query.default_graphs:
            form["default-graph-uri"] = list(query.default_graphs)
        if query.named_graphs:
            form["named-graph-uri"] = list(query.named_graphs)
        accept = ", ".join(m for m in (query.results_media, query.graph_media) if m)
        if not accept:
            raise NotAcceptable("no answer format acceptable to the client")
        try:
            response = self._http.post(self._query_url, data=form,  # type: ignore[arg-type]
                                       headers={"Accept": accept}, timeout=query.timeout)
        except httpx.TimeoutException as exc:
            raise QueryTimeout(f"the query did not finish within {query.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"cannot reach the SPARQL store: {exc}") from exc
        if response.status_code == 400:
            raise QuerySyntaxError(_excerpt(response))
        if response.status_code == 406:
            raise NotAcceptable(_excerpt(response))
        if response.status_code >= 400:
            raise StoreUnavailable(
                f"the SPARQL store failed ({response.status_code}): {_excerpt(response)}")
        return QueryAnswer(response.content, _media_type(response))

    def optimize(self) -> None:
        """Nothing to do: a remote store compacts its own files."""

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ plumbing
    def _current(self, graphs: Mapping[NamedNode, Sequence[Triple]]
                 ) -> dict[NamedNode, set[Triple]]:
        """What the graphs hold now, in one query (the base of the difference to write)."""
        current: dict[NamedNode, set[Triple]] = {graph: set() for graph in graphs}
        names = " ".join(f"<{graph.value}>" for graph in graphs)
        for row in self.select(
                f"SELECT ?g ?s ?p ?o WHERE {{ VALUES ?g {{ {names} }} GRAPH ?g {{ ?s ?p ?o }} }}"):
            current[row["g"]].add(Triple(row["s"], row["p"], row["o"]))  # type: ignore[arg-type,index]
        return current

    def _query_results(self, sparql: str) -> QuerySolutions | QueryBoolean:
        response = self._post(self._query_url, {"query": sparql}, accept=RESULTS_ACCEPT)
        fmt = _RESULTS_FORMATS.get(_media_type(response))
        if fmt is None:
            raise RemoteStoreError(
                f"the store answered a query with unsupported {_media_type(response)!r}")
        return parse_query_results(response.content, format=fmt)

    def _post(self, url: str, form: dict[str, str], *, accept: str) -> httpx.Response:
        return self._send("POST", url, data=form, headers={"Accept": accept})

    def _send(self, method: str, url: str, *, missing_ok: bool = False,
              **kw: object) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"cannot reach the SPARQL store at {url}: {exc}") from exc
        if response.status_code >= 500:
            raise StoreUnavailable(
                f"the SPARQL store at {url} failed ({response.status_code}): "
                f"{_excerpt(response)}")
        if response.status_code >= 400 and not (missing_ok and response.status_code == 404):
            raise RemoteStoreError(
                f"the SPARQL store at {url} refused the request ({response.status_code}): "
                f"{_excerpt(response)}")
        if "X-SPARQL-MaxRows" in response.headers:
            # Virtuoso cuts results at ResultSetMaxRows and says so only in this header.
            raise RemoteStoreError(
                f"the SPARQL store truncated a result at {response.headers['X-SPARQL-MaxRows']}"
                " rows; raise its limit (Virtuoso: [SPARQL] ResultSetMaxRows)")
        return response

    def _check_union_default_graph(self, graphs: Mapping[NamedNode, Sequence[Triple]]) -> None:
        """Once: a triple just written to a named graph must be visible without ``GRAPH``,
        else every query of the services would silently find nothing."""
        if self._union_checked:
            return
        probe = next((t for ts in graphs.values() for t in ts), None)
        if probe is None:
            return
        with self._check_lock:
            body = serialize([probe], format=RdfFormat.N_TRIPLES).decode("utf-8").strip()
            if not self.ask(f"ASK {{ {body} }}"):
                raise StoreUnavailable(
                    "the SPARQL store does not query the union of the named graphs by default;"
                    " start it so (oxigraph: `oxigraph serve --union-default-graph`)")
            self._union_checked = True


def replace_graphs_update(graphs: Mapping[NamedNode, Sequence[Triple]],
                          current: Mapping[NamedNode, set[Triple]] | None = None) -> str:
    """One SPARQL Update request making each graph hold exactly its triples ("" when nothing
    changes). Given what the graphs hold now, only the difference is written: a
    re-registration changes a handful of triples, and oxigraph spends ~80 µs per triple
    written to disk (sales-orders, 388 triples: 50 ms whole, ~1 ms as a difference).
    Otherwise, or with blank nodes (DELETE DATA cannot name them), graphs are dropped and
    written whole."""
    if current is None or any(_has_blank_node(t) for ts in (*graphs.values(),
                                                              *current.values()) for t in ts):
        return " ;\n".join([
            *(f"DROP SILENT GRAPH <{graph.value}>" for graph in graphs),
            *_data_operations("INSERT", [Quad(t.subject, t.predicate, t.object, graph)
                                         for graph, ts in graphs.items() for t in ts])])
    deletes, inserts = [], []
    for graph, triples in graphs.items():
        new, old = set(triples), current.get(graph, set())
        deletes.extend(Quad(t.subject, t.predicate, t.object, graph) for t in old - new)
        inserts.extend(Quad(t.subject, t.predicate, t.object, graph) for t in new - old)
    return " ;\n".join([*_data_operations("DELETE", deletes),
                        *_data_operations("INSERT", inserts)])


def insert_data(quads: Sequence[Quad]) -> str:
    return " ;\n".join(_data_operations("INSERT", quads))


def _has_blank_node(t: Triple) -> bool:
    return isinstance(t.subject, BlankNode) or isinstance(t.object, BlankNode)


def _data_operations(verb: str, quads: Sequence[Quad]) -> list[str]:
    """INSERT DATA or DELETE DATA operations of at most TRIPLES_PER_OPERATION quads each."""
    operations = []
    for start in range(0, len(quads), TRIPLES_PER_OPERATION):
        by_graph: dict[NamedNode, list[Triple]] = {}
        for q in quads[start:start + TRIPLES_PER_OPERATION]:
            if not isinstance(q.graph_name, NamedNode):
                raise RemoteStoreError("dpgraph writes quads into named graphs only")
            by_graph.setdefault(q.graph_name, []).append(q.triple)
        blocks = "\n".join(
            f"GRAPH <{graph.value}> {{\n"
            f"{serialize(triples, format=RdfFormat.N_TRIPLES).decode('utf-8')}}}"
            for graph, triples in by_graph.items())
        operations.append(f"{verb} DATA {{\n{blocks}\n}}")
    return operations


def _in_namespace(var: str) -> str:
    return f'FILTER (STRSTARTS(STR({var}), "{GRAPH_NS}"))'


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _parse_rdf(response: httpx.Response) -> Iterator[Quad]:
    fmt = _RDF_FORMATS.get(_media_type(response))
    if fmt is None:
        raise RemoteStoreError(
            f"the store answered with unsupported RDF format {_media_type(response)!r}")
    return parse(response.content, format=fmt)


def _excerpt(response: httpx.Response, limit: int = 500) -> str:
    return " ".join(response.text[:limit].split())


def _from_settings(settings: Settings) -> SparqlHttpStore:
    if settings.sparql_query_url is None:
        raise DpgraphError("DPGRAPH_STORE=sparql needs DPGRAPH_SPARQL_QUERY_URL")
    auth: httpx.Auth | None = None
    if settings.sparql_user is not None:
        password = settings.sparql_password.get_secret_value() if settings.sparql_password \
            else ""
        auth = (httpx.DigestAuth if settings.sparql_auth == "digest" else httpx.BasicAuth)(
            settings.sparql_user, password)
    return SparqlHttpStore(settings.sparql_query_url, settings.sparql_update_url,
                           settings.sparql_gsp_url, auth=auth,
                           timeout=settings.sparql_store_timeout)


register_backend("sparql", _from_settings)
