"""The SPARQL 1.1 Protocol endpoint /sparql against a live server holding the demo mesh:
real clients (SPARQLWrapper, rdflib's SPARQLStore, httpx), every answer format parsed back
and compared with the example files, errors, the read-only rules and the deadline."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import rdflib
from conftest import EXAMPLES, read_yaml
from procs import Server, alive, command_line, descendants, wait_projected
from rdflib.compare import to_isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from dpgraph.store.oxigraph_store import WORKER_MODULE

ID = "https://w3id.org/dpgraph/id/"
PREFIXES = """PREFIX dprod: <https://ekgf.github.io/dprod/>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX dpg: <https://w3id.org/dpgraph/ns#>
"""
PER_DOMAIN = PREFIXES + """SELECT ?domain (COUNT(?p) AS ?products) WHERE {
  ?p a dpg:DataProduct ; dprod:domain ?d . ?d dct:identifier ?domain
} GROUP BY ?domain ORDER BY ?domain"""
TITLES = PREFIXES + "CONSTRUCT { ?p dct:title ?t } WHERE { ?p a dpg:DataProduct ; dct:title ?t }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SRX = "{http://www.w3.org/2005/sparql-results#}"


def products() -> list[dict[str, Any]]:
    return [read_yaml(p) for p in sorted((EXAMPLES / "products").glob("*.yaml"))]


EXPECTED_PER_DOMAIN = Counter(p["domain"] for p in products())
EXPECTED_TITLES = {(f"{ID}product/{p['id']}", p["name"]) for p in products()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("sparql")
    srv = Server(base / "data", base)
    srv.start(demo=True)
    wait_projected(srv)
    yield srv
    srv.kill()


@pytest.fixture(scope="module")
def endpoint(server: Server) -> str:
    return server.url + "/sparql"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server recording every request: the target of LOAD and SERVICE, which
    must never be contacted."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/sparql", seen
    httpd.shutdown()


def get(endpoint: str, query: str, accept: str | None = None, **params: Any) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(endpoint, params={"query": query, **params}, headers=headers, timeout=60)


def count_quads(endpoint: str) -> int:
    r = get(endpoint, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


# ------------------------------------------------------------------ results formats
def per_domain_from_json(body: bytes) -> Counter[str]:
    rows = json.loads(body)["results"]["bindings"]
    return Counter({r["domain"]["value"]: int(r["products"]["value"]) for r in rows})


def per_domain_from_xml(body: bytes) -> Counter[str]:
    out: Counter[str] = Counter()
    for result in ET.fromstring(body).iter(f"{SRX}result"):
        values = {b.get("name"): b[0].text for b in result.iter(f"{SRX}binding")}
        out[values["domain"]] = int(values["products"])
    return out


def per_domain_from_csv(body: bytes) -> Counter[str]:
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    return Counter({r["domain"]: int(r["products"]) for r in rows})


def per_domain_from_tsv(body: bytes) -> Counter[str]:
    header, *lines = body.decode("utf-8").strip().split("\n")
    assert header.split("\t") == ["?domain", "?products"]
    out: Counter[str] = Counter()
    for line in lines:
        domain, count = line.split("\t")
        out[json.loads(domain)] = int(count)  # TSV writes RDF terms: "sales", 3
    return out


@pytest.mark.parametrize(("accept", "media", "read"), [
    ("application/sparql-results+json", "application/sparql-results+json", per_domain_from_json),
    ("application/json", "application/sparql-results+json", per_domain_from_json),
    ("application/sparql-results+xml", "application/sparql-results+xml", per_domain_from_xml),
    ("application/xml", "application/sparql-results+xml", per_domain_from_xml),
    ("text/csv", "text/csv", per_domain_from_csv),
    ("text/tab-separated-values", "text/tab-separated-values", per_domain_from_tsv),
    ("*/*", "application/sparql-results+json", per_domain_from_json),
    (None, "application/sparql-results+json", per_domain_from_json),
    ("text/html;q=0.9, text/csv;q=0.5", "text/csv", per_domain_from_csv),
])
def test_select_answers_in_each_results_format(endpoint: str, accept: str | None, media: str,
                                              read: Any) -> None:
    r = get(endpoint, PER_DOMAIN, accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    assert read(r.content) == EXPECTED_PER_DOMAIN


@pytest.mark.parametrize(("accept", "media", "rdflib_format"), [
    ("text/turtle", "text/turtle", "turtle"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/rdf+xml", "application/rdf+xml", "xml"),
    ("*/*", "text/turtle", "turtle"),
    (None, "text/turtle", "turtle"),
])
def test_construct_answers_in_each_graph_format(endpoint: str, accept: str | None, media: str,
                                               rdflib_format: str) -> None:
    r = get(endpoint, TITLES, accept)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    graph = rdflib.Graph().parse(data=r.content, format=rdflib_format)
    assert {(str(s), str(o)) for s, _, o in graph} == EXPECTED_TITLES


def test_describe_and_ask(endpoint: str) -> None:
    r = get(endpoint, f"DESCRIBE <{ID}product/sales-orders>", "application/n-triples")
    assert r.status_code == 200, r.text
    graph = rdflib.Graph().parse(data=r.content, format="nt")
    assert str(graph.value(rdflib.URIRef(f"{ID}product/sales-orders"),
                           rdflib.DCTERMS.title)) == "Sales Orders"
    yes = get(endpoint, PREFIXES + "ASK { ?p dct:identifier 'sales-orders' }")
    no = get(endpoint, PREFIXES + "ASK { ?p dct:identifier 'no-such-product' }",
             "application/sparql-results+xml")
    assert yes.json() == {"head": {}, "boolean": True}
    assert ET.fromstring(no.content).find(f"{SRX}boolean").text == "false"


# ------------------------------------------------------------------ protocol
def test_post_form_and_post_query_body(endpoint: str) -> None:
    form = httpx.post(endpoint, data={"query": PER_DOMAIN}, timeout=60,
                      headers={"Accept": "text/csv"})
    direct = httpx.post(endpoint, content=PER_DOMAIN.encode(), timeout=60,
                        headers={"Content-Type": "application/sparql-query",
                                 "Accept": "application/sparql-results+json"})
    assert per_domain_from_csv(form.content) == EXPECTED_PER_DOMAIN
    assert per_domain_from_json(direct.content) == EXPECTED_PER_DOMAIN
    # form values are decoded once: a literal "%41" stays "%41" and "+" is a space
    tricky = httpx.post(endpoint, timeout=60, data={"query": "SELECT ?x { BIND('%41 +' AS ?x) }"})
    assert tricky.json()["results"]["bindings"][0]["x"]["value"] == "%41 +"


def test_format_parameter_overrides_accept(endpoint: str) -> None:
    r = get(endpoint, PER_DOMAIN, "application/sparql-results+xml", format="csv")
    assert r.headers["content-type"].startswith("text/csv")
    g = get(endpoint, TITLES, None, format="application/n-triples")
    assert g.headers["content-type"].startswith("application/n-triples")


def test_default_and_named_graph_uris(endpoint: str) -> None:
    orders = f"{ID}graph/product/sales-orders"
    lines = f"{ID}graph/product/sales-order-lines"
    ids = PREFIXES + "SELECT ?id { ?p a dpg:DataProduct ; dct:identifier ?id } ORDER BY ?id"

    def values(r: httpx.Response, var: str) -> list[str]:
        assert r.status_code == 200, r.text
        return [b[var]["value"] for b in r.json()["results"]["bindings"]]

    # no dataset given: the default graph is the union of all named graphs
    assert values(get(endpoint, ids), "id") == sorted(p["id"] for p in products())
    # default-graph-uri: exactly the merge of those graphs
    assert values(get(endpoint, ids, **{"default-graph-uri": [orders, lines]}), "id") == [
        "sales-order-lines", "sales-orders"]
    # named-graph-uri only: GRAPH sees those, the default graph is empty
    graphs = "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    assert values(get(endpoint, graphs, **{"named-graph-uri": orders}), "g") == [orders]
    assert values(get(endpoint, ids, **{"named-graph-uri": orders}), "id") == []
    # a query naming its own dataset gets it, not the union
    assert values(get(endpoint, ids.replace("SELECT ?id", f"SELECT ?id FROM <{lines}>")),
                  "id") == ["sales-order-lines"]
    # the protocol's dataset wins over the query's
    assert values(get(endpoint, ids.replace("SELECT ?id", f"SELECT ?id FROM <{lines}>"),
                      **{"default-graph-uri": orders}), "id") == ["sales-orders"]


def test_reads_its_writes(server: Server, endpoint: str) -> None:
    status = PREFIXES + """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT ?s { ?p dct:identifier 'marketing-campaign-responses' ;
                       dprod:lifecycleStatus/skos:notation ?s }"""
    assert get(endpoint, status).json()["results"]["bindings"][0]["s"]["value"] == "active"
    r = server.post("/api/v1/products/marketing-campaign-responses/deprecation",
                    json={"reason": "replaced", "status": "deprecated"})
    assert r.status_code in (200, 201), r.text
    after = get(endpoint, status)  # right after the acknowledgement, without waiting
    assert after.json()["results"]["bindings"][0]["s"]["value"] == "deprecated"


# ------------------------------------------------------------------ errors
def test_syntax_error_gives_parser_message_and_position(endpoint: str) -> None:
    r = get(endpoint, "SELECT * WHERE {\n  ?s ?p ?o .\n  FILTER(?o = )\n}")
    assert r.status_code == 400
    body = r.json()
    assert body["title"] == "Query syntax error"
    assert body["detail"].startswith("error at 4:2: expected one of")
    assert (body["line"], body["column"]) == (4, 2)


@pytest.mark.parametrize(("query", "accept"), [
    (PER_DOMAIN, "image/png"),
    (PER_DOMAIN, "text/turtle"),  # a graph format for a SELECT
    (TITLES, "text/csv"),  # a results format for a CONSTRUCT
])
def test_not_acceptable_lists_offered_types(endpoint: str, query: str, accept: str) -> None:
    r = get(endpoint, query, accept)
    assert r.status_code == 406
    assert r.headers["content-type"] == "application/problem+json"
    offered = "text/turtle" if query == TITLES else "application/sparql-results+json"
    assert offered in r.json()["detail"]


def test_invalid_requests(endpoint: str) -> None:
    missing = httpx.get(endpoint, timeout=30)
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "query"
    bad_iri = get(endpoint, "ASK {}", **{"default-graph-uri": "not an iri"})
    assert bad_iri.status_code == 400
    assert bad_iri.json()["errors"][0]["field"] == "default-graph-uri"
    bad_timeout = get(endpoint, "ASK {}", timeout="-1")
    assert bad_timeout.status_code == 400
    wrong_type = httpx.post(endpoint, content=b"ASK {}", timeout=30,
                            headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


# ------------------------------------------------------------------ read-only
def refused(r: httpx.Response, rule: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["rule"] == rule


def test_updates_load_and_service_are_refused_and_change_nothing(
        endpoint: str, listener: tuple[str, list[str]]) -> None:
    remote, contacted = listener
    before = count_quads(endpoint)
    insert = "INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> <urn:c> } }"
    refused(httpx.post(endpoint, data={"update": insert}, timeout=30), "sparql:read-only:update")
    refused(httpx.post(endpoint, content=insert.encode(), timeout=30,
                       headers={"Content-Type": "application/sparql-update"}),
            "sparql:read-only:update")
    refused(get(endpoint, insert), "sparql:read-only:update")
    refused(httpx.post(endpoint, data={"query": "DROP ALL"}, timeout=30),
            "sparql:read-only:update")
    refused(get(endpoint, f"LOAD <{remote}> INTO GRAPH <urn:g>"), "sparql:read-only:load")
    refused(get(endpoint, f"SELECT * {{ SERVICE <{remote}> {{ ?s ?p ?o }} }}"),
            "sparql:read-only:service")
    refused(get(endpoint, f"ASK {{ OPTIONAL {{ SERVICE SILENT <{remote}> {{ ?s ?p ?o }} }} }}"),
            "sparql:read-only:service")
    assert count_quads(endpoint) == before
    assert get(endpoint, "ASK { GRAPH ?g { <urn:a> ?p ?o } }").json()["boolean"] is False
    assert contacted == []
    # the word in a literal, an IRI or a name is no SERVICE clause
    ok = get(endpoint, "PREFIX ex: <urn:service:> SELECT ?x { BIND('SERVICE <x> {}' AS ?x) "
                       "OPTIONAL { ?x ex:service ?y } }")
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"]["bindings"][0]["x"]["value"] == "SERVICE <x> {}"


# ------------------------------------------------------------------ deadline
def test_runaway_query_stops_at_deadline_while_others_are_answered(endpoint: str,
                                                                    server: Server) -> None:
    outcome: dict[str, Any] = {}

    def runaway() -> None:
        started = time.monotonic()
        outcome["response"] = get(endpoint, RUNAWAY, timeout="3")
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    answered = []
    while thread.is_alive():  # the service keeps answering meanwhile, SPARQL included
        started = time.monotonic()
        r = get(endpoint, PER_DOMAIN)
        assert per_domain_from_json(r.content) == EXPECTED_PER_DOMAIN
        assert server.get("/health").status_code == 200
        answered.append(time.monotonic() - started)
        time.sleep(0.2)
    thread.join()
    r = outcome["response"]
    assert r.status_code == 504, r.text
    assert r.json()["title"] == "Query timeout"
    assert "3 s" in r.json()["detail"]
    assert 2.9 < outcome["seconds"] < 8
    assert len(answered) >= 5 and max(answered) < 2.0
    assert get(endpoint, "ASK { ?s ?p ?o }").json()["boolean"] is True


def test_configured_timeout_caps_the_request(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", tmp_path)
    srv.start(env={"DPGRAPH_SPARQL_TIMEOUT": "1"})
    try:
        started = time.monotonic()
        r = get(srv.url + "/sparql", RUNAWAY, timeout="600")
        elapsed = time.monotonic() - started
        assert r.status_code == 504, r.text
        assert "limit for this query is 1 s" in r.json()["detail"]
        assert elapsed < 6
    finally:
        srv.kill()


def test_a_killed_service_leaves_no_query_running(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", tmp_path)
    srv.start()
    assert srv.proc is not None
    pid = srv.proc.pid
    thread = threading.Thread(target=lambda: _swallow(lambda: get(srv.url + "/sparql", RUNAWAY)))
    thread.start()
    deadline = time.monotonic() + 20
    # The query workers are started on the first user query, by the core (a child of the
    # front, as are the ingest workers): wait for them, not for any process below the front.
    while not (workers := query_workers(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers, "no query worker started"
    time.sleep(0.5)  # the runaway query is evaluating
    srv.kill()  # SIGKILL: no clean-up code runs in the service
    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, workers))
    thread.join()


def query_workers(pid: int) -> list[int]:
    return [p for p in descendants(pid) if WORKER_MODULE in command_line(p)]


def _swallow(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server was killed under the request
        call()


# ------------------------------------------------------------------ real clients
@pytest.mark.parametrize("method", ["GET", POST])
def test_sparqlwrapper_results(endpoint: str, method: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(PER_DOMAIN)
    client.setReturnFormat(JSON)
    assert per_domain_from_json(json.dumps(client.query().convert()).encode()) == \
        EXPECTED_PER_DOMAIN
    client.setReturnFormat(XML)
    document = client.query().convert()
    assert len(document.getElementsByTagName("result")) == len(EXPECTED_PER_DOMAIN)
    for fmt, read in ((CSV, per_domain_from_csv), (TSV, per_domain_from_tsv)):
        client.setReturnFormat(fmt)
        assert read(client.query().convert()) == EXPECTED_PER_DOMAIN


@pytest.mark.parametrize("method", ["GET", POST])
def test_sparqlwrapper_graphs(endpoint: str, method: str) -> None:
    client = SPARQLWrapper(endpoint)
    client.setMethod(method)
    client.setQuery(TITLES)
    graphs = []
    for fmt, rdflib_format in ((TURTLE, "turtle"), (JSONLD, None), (RDFXML, None),
                               (XML, None)):
        client.setReturnFormat(fmt)
        result = client.query().convert()  # RDF/XML and JSON-LD come back as rdflib graphs
        graph = result if rdflib_format is None else rdflib.Graph().parse(
            data=result, format=rdflib_format)
        assert {(str(s), str(o)) for s, _, o in graph} == EXPECTED_TITLES
        graphs.append(to_isomorphic(graph))
    assert all(g == graphs[0] for g in graphs)


def test_rdflib_sparqlstore(endpoint: str) -> None:
    graph = rdflib.Graph(store=SPARQLStore(endpoint))
    rows = graph.query(PER_DOMAIN)
    assert Counter({str(d): int(n) for d, n in rows}) == EXPECTED_PER_DOMAIN
    assert graph.query(PREFIXES + "ASK { ?p dct:identifier 'sales-orders' }").askAnswer
    titles = graph.query(TITLES).graph
    assert {(str(s), str(o)) for s, _, o in titles} == EXPECTED_TITLES
    orders = rdflib.URIRef(f"{ID}product/sales-orders")
    assert set(graph.objects(orders, rdflib.DCTERMS.identifier)) == {
        rdflib.Literal("sales-orders")}
