"""Registration through the real HTTP app: formats, refusals, negotiation, history, catalog.

Every test talks to the FastAPI app over the TestClient, backed by a real on-disk store and
log in a temporary directory. "Nothing written" is checked three ways: the log head reported
by /health, the product list, and the number of quads in the graph store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import EXAMPLES, example_product
from fastapi.testclient import TestClient
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF

from dpgraph.api.app import create_app
from dpgraph.demo import demo_lineage_files
from dpgraph.settings import Settings

DPG = Namespace("https://w3id.org/dpgraph/ns#")
PRODUCT_NS = "https://w3id.org/dpgraph/id/product/"
PROBLEM = "application/problem+json"
YAML = "application/yaml"
# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
PRODUCT_FILES = sorted((EXAMPLES / "products").glob("*.yaml"))
BROKEN = EXAMPLES / "broken"


# ------------------------------------------------------------------ helpers
class _JsonViewLoader(yaml.SafeLoader):
    """YAML as a JSON-Schema tool sees it: dates stay strings (YAML 1.2 core schema)."""


_JsonViewLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def json_view(path: Path) -> dict[str, Any]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_JsonViewLoader)
    assert isinstance(doc, dict)
    return doc


def post_product(c: TestClient, body: bytes | str, media: str = YAML, **params: Any) -> Any:
    return c.post("/api/v1/products", content=body, headers={"Content-Type": media},
                  params={k: str(v).lower() for k, v in params.items()})


def post_yaml(c: TestClient, doc: dict[str, Any], **params: Any) -> Any:
    return post_product(c, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), **params)


def log_head(c: TestClient) -> int:
    """The log head once the projection has caught up with it (polled, not slept on)."""
    deadline = time.monotonic() + 10
    while True:
        r = c.get("/health")
        assert r.status_code == 200
        offsets = r.json()["offsets"]
        if offsets["projected"] == offsets["log"] or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert offsets["projected"] == offsets["log"]
    return int(offsets["log"])


def state(c: TestClient) -> tuple[int, list[dict[str, Any]], int]:
    """What a write would change: log head, product list, number of quads in the graph."""
    products = c.get("/api/v1/products")
    assert products.status_code == 200
    c.app.state.runtime.sync()  # type: ignore[attr-defined]
    quads = sum(1 for _ in c.app.state.runtime.store.quads())  # type: ignore[attr-defined]
    return log_head(c), products.json(), quads


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return dict(body)


def is_subset(expected: Any, actual: Any) -> bool:
    """Everything the author wrote is in what the service returns (defaults may be added)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(x, actual[k]) for k, x in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(is_subset(x, y) for x, y in zip(expected, actual, strict=True)))
    return bool(expected == actual)


def unordered(x: Any) -> Any:
    """A descriptor with every list sorted: RDF carries no order, so compare without it."""
    if isinstance(x, dict):
        return {k: unordered(v) for k, v in x.items()}
    if isinstance(x, list):
        return sorted((unordered(i) for i in x), key=lambda i: json.dumps(i, sort_keys=True))
    return x


def product_iri(product_id: str) -> URIRef:
    return URIRef(PRODUCT_NS + product_id)


@pytest.fixture
def catalog_client(client: TestClient) -> TestClient:
    """An empty service that holds the demo catalog but no product."""
    r = client.post("/api/v1/catalog", content=(EXAMPLES / "catalog.yaml").read_bytes(),
                    headers={"Content-Type": YAML})
    assert r.status_code == 201, r.text
    return client


@pytest.fixture
def small_body_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "small", max_body_bytes=2048, demo=True)
    with TestClient(create_app(settings)) as c:
        yield c


# ------------------------------------------------------------------ service endpoints
def test_health_reports_log_and_projection_offsets(client: TestClient,
                                                   demo_client: TestClient) -> None:
    empty = client.get("/health").json()
    assert empty["status"] == "ok"
    assert empty["store"] == "oxigraph"
    assert empty["offsets"] == {"log": 0, "projected": 0, "search": 0, "cypher": 0}
    # the demo is the catalog, one registration per example product and the recorded
    # lineage events of examples/lineage and examples/lineage-dbt
    head = 1 + len(PRODUCT_FILES) + len(demo_lineage_files(EXAMPLES))
    deadline = time.monotonic() + 30
    while True:  # the Cypher view follows the log in a thread of its own
        demo = demo_client.get("/health").json()
        if demo["offsets"]["cypher"] == head or time.monotonic() > deadline:
            break
        assert demo["offsets"]["cypher"] < head
        time.sleep(0.05)
    assert demo["offsets"] == {"log": head, "projected": head, "search": head, "cypher": head}


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    doc = spec.json()
    assert doc["info"]["title"] == "dpgraph"
    for path in ("/health", "/api/v1/products", "/api/v1/products/{product_id}",
                 "/api/v1/products/{product_id}/versions",
                 "/api/v1/products/{product_id}/deprecation", "/api/v1/catalog",
                 "/api/v1/schemas/product"):
        assert path in doc["paths"], path
    register = doc["paths"]["/api/v1/products"]["post"]
    assert set(register["requestBody"]["content"]) == {
        "application/yaml", "application/json", "text/turtle", "application/ld+json",
        "application/n-triples"}
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()


def test_product_schema_is_a_json_schema_of_the_descriptor(client: TestClient) -> None:
    r = client.get("/api/v1/schemas/product")
    assert r.status_code == 200
    schema = r.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["required"] == ["id"]
    assert schema["additionalProperties"] is False
    for key in ("id", "name", "description", "domain", "owner", "sourceApplication",
                "elements", "representations", "outputPorts", "contract", "joinKeys"):
        assert key in schema["properties"], key
    # an unknown key and a bad slug are refused by the schema itself, as by the service
    validator = jsonschema.Draft202012Validator(schema)
    assert not validator.is_valid({"id": "x", "ownr": "team"})
    assert not validator.is_valid({"id": "Bad Id"})
    assert validator.is_valid({"id": "x"})


@pytest.mark.parametrize("path", PRODUCT_FILES, ids=lambda p: p.stem)
def test_every_example_product_validates_against_the_published_schema(
        client: TestClient, path: Path) -> None:
    schema = client.get("/api/v1/schemas/product").json()
    jsonschema.validate(json_view(path), schema,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_example_catalog_validates_against_the_published_catalog_schema(
        client: TestClient) -> None:
    schema = client.get("/api/v1/schemas/catalog").json()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json_view(EXAMPLES / "catalog.yaml"), schema)


# ------------------------------------------------------------------ registration formats
def test_register_yaml_product(catalog_client: TestClient) -> None:
    c = catalog_client
    before = log_head(c)
    r = post_product(c, (EXAMPLES / "products" / "customer-profile.yaml").read_bytes())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["id"] == "customer-profile"
    assert out["accepted"] is True and out["conforms"] is True
    assert out["unchanged"] is False and out["dryRun"] is False
    assert out["violations"] == []
    assert out["logOffset"] == before + 1
    assert log_head(c) == before + 1

    got = c.get("/api/v1/products/customer-profile")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/json")
    assert is_subset(json_view(EXAMPLES / "products" / "customer-profile.yaml"), got.json())

    ttl = c.get("/api/v1/products/customer-profile", headers={"Accept": "text/turtle"})
    assert ttl.status_code == 200
    assert ttl.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=ttl.text, format="turtle")
    p = product_iri("customer-profile")
    assert (p, RDF.type, DPG.DataProduct) in g
    assert (p, DCTERMS.identifier, Literal("customer-profile")) in g
    assert (p, DCTERMS.title, Literal("Customer Profile")) in g

    listed = {x["id"]: x for x in c.get("/api/v1/products").json()}
    assert listed["customer-profile"]["status"] == "active"
    assert listed["customer-profile"]["version"] == "2.3.0"
    assert listed["customer-profile"]["domain"] == "customer"
    assert listed["customer-profile"]["owner"] == "team-customer-data"


def test_register_json_product(catalog_client: TestClient) -> None:
    c = catalog_client
    doc = json_view(EXAMPLES / "products" / "customer-profile.yaml")
    r = post_product(c, json.dumps(doc), "application/json")
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] is True
    assert is_subset(doc, c.get("/api/v1/products/customer-profile").json())
    # the same document again, as YAML this time, is the same registration
    again = post_product(c, (EXAMPLES / "products" / "customer-profile.yaml").read_bytes())
    assert again.status_code == 200, again.text
    assert again.json()["unchanged"] is True
    assert again.json()["logOffset"] == r.json()["logOffset"]


def test_register_turtle_and_jsonld_products(demo_client: TestClient,
                                             catalog_client: TestClient) -> None:
    """A product fetched as RDF from one service registers into another one unchanged."""
    rdf = {media: demo_client.get("/api/v1/products/customer-profile", headers={"Accept": media})
           for media in ("text/turtle", "application/ld+json", "application/n-triples")}
    assert all(r.status_code == 200 for r in rdf.values())
    c = catalog_client
    before = log_head(c)

    first = post_product(c, rdf["text/turtle"].content, "text/turtle")
    assert first.status_code == 201, first.text
    assert first.json()["id"] == "customer-profile"
    assert first.json()["logOffset"] == before + 1
    registered = c.get("/api/v1/products/customer-profile").json()
    original = demo_client.get("/api/v1/products/customer-profile").json()
    # same content; only the order of lists is not carried by RDF
    assert unordered(registered) == unordered(original)

    # the same graph as JSON-LD or N-Triples is the same descriptor: nothing new is written
    for media in ("application/ld+json", "application/n-triples"):
        again = post_product(c, rdf[media].content, media)
        assert again.status_code == 200, again.text
        assert again.json()["unchanged"] is True, media
        assert again.json()["logOffset"] == first.json()["logOffset"]
    assert log_head(c) == before + 1
    assert len(c.get("/api/v1/products/customer-profile/versions").json()) == 1

    # a product whose join keys point at the RDF-registered one is accepted next to it
    orders = demo_client.get("/api/v1/products/sales-orders",
                             headers={"Accept": "application/ld+json"})
    r = post_product(c, orders.content, "application/ld+json")
    assert r.status_code == 201, r.text
    g = Graph().parse(data=c.get("/api/v1/products/sales-orders",
                                 headers={"Accept": "text/turtle"}).text, format="turtle")
    assert (product_iri("sales-orders"), RDF.type, DPG.DataProduct) in g


def test_turtle_without_a_product_is_refused(catalog_client: TestClient) -> None:
    c = catalog_client
    before = state(c)
    body = "<https://example.org/x> <http://purl.org/dc/terms/title> \"x\" ."
    assert_problem(post_product(c, body, "text/turtle"), 422)
    bad = assert_problem(post_product(c, "this is not turtle <", "text/turtle"), 400)
    assert "text/turtle" in bad["detail"]
    assert state(c) == before


def test_warnings_do_not_block_registration(demo_client: TestClient) -> None:
    r = post_product(demo_client, (BROKEN / "duplicate-term-in-product.yaml").read_bytes())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["accepted"] is True and out["violations"] == []
    assert [w["field"] for w in out["warnings"]] == ["elements[10]"]
    assert out["warnings"][0]["severity"] == "warning"


# ------------------------------------------------------------------ dry run
def test_dry_run_validates_without_writing(catalog_client: TestClient) -> None:
    c = catalog_client
    before = state(c)
    r = post_product(c, (EXAMPLES / "products" / "customer-profile.yaml").read_bytes(),
                     dry_run=True)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["dryRun"] is True and out["accepted"] is True and out["unchanged"] is False
    assert out["logOffset"] is None
    assert state(c) == before
    assert_problem(c.get("/api/v1/products/customer-profile"), 404)
    assert_problem(c.get("/api/v1/products/customer-profile/versions"), 404)
    # a dry run is refused like a real registration
    refused = post_product(c, (BROKEN / "missing-owner.yaml").read_bytes(), dry_run=True)
    assert_problem(refused, 422)
    assert state(c) == before


# ------------------------------------------------------------------ refusals
def test_refused_descriptor_is_a_problem_with_findings_and_writes_nothing(
        demo_client: TestClient) -> None:
    c = demo_client
    before = state(c)
    r = post_product(c, (BROKEN / "missing-owner.yaml").read_bytes())
    body = assert_problem(r, 422)
    assert body["title"] == "Registration refused"
    assert "broken-missing-owner" in body["detail"]
    errors = body["errors"]
    assert isinstance(errors, list) and errors
    for e in errors:
        assert {"severity", "field", "message", "rule"} <= set(e)
        assert e["severity"] in ("violation", "warning")
        assert e["message"] and e["rule"]
    owner = [e for e in errors if e["field"] == "owner"]
    assert len(owner) == 1
    assert owner[0]["severity"] == "violation"
    assert "Add `owner`" in owner[0]["message"]
    assert owner[0]["focusNode"] == PRODUCT_NS + "broken-missing-owner"
    assert state(c) == before
    assert_problem(c.get("/api/v1/products/broken-missing-owner"), 404)


@pytest.mark.parametrize("name", ["unknown-owner.yaml", "join-key-unknown-target.yaml",
                                  "raw-port-public.yaml", "no-elements.yaml"])
def test_broken_examples_are_refused_on_their_field(demo_client: TestClient, name: str) -> None:
    expected = yaml.safe_load((BROKEN / "EXPECTED.yaml").read_text(encoding="utf-8"))[name]
    before = state(demo_client)
    body = assert_problem(post_product(demo_client, (BROKEN / name).read_bytes()), 422)
    fields = {e["field"] for e in body["errors"] if e["severity"] == "violation"}
    assert expected["field"] in fields
    assert fields <= {expected["field"], *expected.get("alsoReported", [])}
    says = [e["message"] for e in body["errors"] if e["field"] == expected["field"]]
    assert any(expected["says"] in m for m in says), says
    assert state(demo_client) == before


MALFORMED = {
    "malformed-yaml": (b"id: x\nname: a: b\nowner: y\n", YAML, 400),
    "json-array": (b'[{"id": "x"}]', "application/json", 400),
    "malformed-json": (b'{"id": "x",', "application/json", 400),
    "yaml-scalar": (b"just a string\n", YAML, 400),
    "unknown-key": (b"id: customer-profile\nownr: x\n", YAML, 422),
    "bad-slug": (b'id: "Bad Id"\n', YAML, 422),
    "text-plain": (b"id: customer-profile\n", "text/plain", 415),
    "no-content-type": (b"id: customer-profile\n", "", 415),
    "empty-body": (b"", YAML, 400),
    "blank-body": (b"  \n\n", YAML, 400),
    "not-utf8": (b"id: \xff\xfe\n", YAML, 400),
}


@pytest.mark.parametrize("case", MALFORMED, ids=str)
def test_malformed_requests_are_problems_and_write_nothing(demo_client: TestClient,
                                                           case: str) -> None:
    body, media, status = MALFORMED[case]
    before = state(demo_client)
    headers = {"Content-Type": media} if media else {}
    r = demo_client.post("/api/v1/products", content=body, headers=headers)
    problem = assert_problem(r, status)
    if case == "malformed-yaml":
        assert "line 2, column 8" in problem["detail"]
    if case == "malformed-json":
        assert "line 1" in problem["detail"]
    if case == "json-array":
        assert "mapping" in problem["detail"]
    if case == "unknown-key":
        (e,) = problem["errors"]
        assert e["field"] == "ownr"
        assert e["rule"].startswith("schema:")
        assert e["severity"] == "violation"
    if case == "bad-slug":
        (e,) = problem["errors"]
        assert e["field"] == "id"
        assert e["rule"].startswith("schema:")
        assert e["value"] == "Bad Id"
    if status == 415:
        assert "application/yaml" in problem["detail"]
    if case in ("empty-body", "blank-body"):
        assert "empty" in problem["detail"]
    assert state(demo_client) == before


def test_body_over_the_limit_is_413_and_writes_nothing(small_body_client: TestClient) -> None:
    c = small_body_client
    before = state(c)
    body = (EXAMPLES / "products" / "customer-profile.yaml").read_bytes()
    assert len(body) > 2048
    declared = assert_problem(post_product(c, body), 413)
    assert "2048" in declared["detail"]

    # the limit also holds when the size is not declared up front (chunked upload)
    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 512):
            yield body[i:i + 512]

    r = c.post("/api/v1/products", content=chunks(), headers={"Content-Type": YAML})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 413)
    assert state(c) == before
    # a body under the limit still goes through to validation
    assert post_yaml(c, {"id": "x", "ownr": "y"}).status_code == 422


# ------------------------------------------------------------------ content negotiation
@pytest.mark.parametrize(("accept", "media", "rdf_format"), [
    ("application/json", "application/json", None),
    ("*/*", "application/json", None),
    (None, "application/json", None),
    ("text/turtle", "text/turtle", "turtle"),
    ("application/ld+json", "application/ld+json", "json-ld"),
    ("application/n-triples", "application/n-triples", "nt"),
    ("text/html, text/turtle;q=0.5", "text/turtle", "turtle"),
    ("application/json;q=0.2, application/ld+json", "application/ld+json", "json-ld"),
])
def test_get_product_negotiates_representation(demo_client: TestClient, accept: str | None,
                                               media: str, rdf_format: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    r = demo_client.get("/api/v1/products/customer-profile", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media
    if rdf_format is None:
        assert r.json()["id"] == "customer-profile"
        assert r.json()["name"] == "Customer Profile"
        return
    g = Graph().parse(data=r.text, format=rdf_format)
    p = product_iri("customer-profile")
    assert (p, RDF.type, DPG.DataProduct) in g
    assert (p, DCTERMS.identifier, Literal("customer-profile")) in g
    # the named graph holds the product's own nodes, not the catalog or other products
    subjects = {str(s) for s in g.subjects()}
    assert all(s.startswith(str(p)) for s in subjects), sorted(subjects)[:5]


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
def test_get_product_refuses_unacceptable_media(demo_client: TestClient, accept: str) -> None:
    problem = assert_problem(
        demo_client.get("/api/v1/products/customer-profile", headers={"Accept": accept}), 406)
    assert "application/json" in problem["detail"]
    assert "text/turtle" in problem["detail"]


def test_unknown_product_is_404_naming_it(demo_client: TestClient) -> None:
    for path in ("/api/v1/products/no-such-product",
                 "/api/v1/products/no-such-product/versions"):
        problem = assert_problem(demo_client.get(path), 404)
        assert "no-such-product" in problem["detail"]
    turtle = demo_client.get("/api/v1/products/no-such-product",
                             headers={"Accept": "text/turtle"})
    assert "no-such-product" in assert_problem(turtle, 404)["detail"]


# ------------------------------------------------------------------ re-registration
def _graph_literals(c: TestClient, product_id: str) -> list[str]:
    from dpgraph import iris

    c.app.state.runtime.sync()  # type: ignore[attr-defined]
    store = c.app.state.runtime.store  # type: ignore[attr-defined]
    return [t.object.value for t in store.graph_triples(iris.product_graph(product_id))]


def test_reregistration_replaces_the_graph_and_keeps_history(demo_client: TestClient) -> None:
    c = demo_client
    old = example_product("customer-profile")
    new = {**old, "version": "2.4.0",
           "description": old["description"] + " Since 2.4 also carries the loyalty tier "
                                               "history.",
           "qualityRules": [q for q in old["qualityRules"] if q["id"] != "email-complete"]}
    [first] = c.get("/api/v1/products/customer-profile/versions").json()

    r = post_yaml(c, new)
    assert r.status_code == 201, r.text
    assert r.json()["unchanged"] is False
    new_offset = r.json()["logOffset"]
    got = c.get("/api/v1/products/customer-profile").json()
    assert got["description"] == new["description"]
    assert got["version"] == "2.4.0"

    # the product's named graph holds only the new registration
    literals = _graph_literals(c, "customer-profile")
    assert new["description"] in literals
    assert old["description"].strip() not in literals
    assert "email-complete" not in literals
    assert literals.count("2.4.0") == 1 and "2.3.0" not in literals
    c.app.state.runtime.sync()  # type: ignore[attr-defined]
    store = c.app.state.runtime.store  # type: ignore[attr-defined]
    everywhere = [q for q in store.quads() if q.object.value == old["description"].strip()]
    assert everywhere == []
    assert literals.count(str(new_offset)) == 1  # dpg:logOffset of the current registration

    versions = c.get("/api/v1/products/customer-profile/versions").json()
    assert [v["version"] for v in versions] == ["2.3.0", "2.4.0"]
    assert [v["event"] for v in versions] == ["product.registered"] * 2
    assert [v["logOffset"] for v in versions] == [first["logOffset"], new_offset]
    assert versions[0]["recordedAt"] <= versions[1]["recordedAt"]
    assert versions[0]["digest"] != versions[1]["digest"]

    then = c.get(f"/api/v1/products/customer-profile/versions/{first['logOffset']}")
    assert then.status_code == 200
    assert then.json()["descriptor"]["description"] == old["description"]
    assert then.json()["descriptor"]["version"] == "2.3.0"
    assert then.json()["version"] == "2.3.0"
    # an offset that is not a registration of this product is not one of its versions
    other = c.get("/api/v1/products/sales-orders/versions").json()[0]["logOffset"]
    assert_problem(c.get(f"/api/v1/products/customer-profile/versions/{other}"), 404)

    # the identical descriptor again changes nothing
    head = log_head(c)
    same = post_yaml(c, new)
    assert same.status_code == 200, same.text
    assert same.json()["unchanged"] is True
    assert same.json()["logOffset"] == new_offset
    assert log_head(c) == head
    assert len(c.get("/api/v1/products/customer-profile/versions").json()) == 2


# ------------------------------------------------------------------ deprecation
def test_deprecation_keeps_the_product_visible(demo_client: TestClient) -> None:
    c = demo_client
    head = log_head(c)
    r = c.post("/api/v1/products/customer-consent/deprecation",
               json={"reason": "merged into customer-profile", "successor": "customer-profile"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "customer-consent"
    assert r.json()["logOffset"] == head + 1

    got = c.get("/api/v1/products/customer-consent").json()
    assert got["lifecycleStatus"] == "deprecated"
    assert got["name"] == example_product("customer-consent")["name"]
    listed = {p["id"]: p for p in c.get("/api/v1/products").json()}
    assert len(listed) == len(PRODUCT_FILES)
    assert listed["customer-consent"]["status"] == "deprecated"
    assert listed["customer-profile"]["status"] == "active"

    versions = c.get("/api/v1/products/customer-consent/versions").json()
    assert [v["event"] for v in versions] == ["product.registered", "product.deprecated"]
    assert versions[1]["reason"] == "merged into customer-profile"
    assert versions[1]["successor"] == "customer-profile"
    assert versions[1]["status"] == "deprecated"

    g = Graph().parse(data=c.get("/api/v1/products/customer-consent",
                                 headers={"Accept": "text/turtle"}).text, format="turtle")
    consent = product_iri("customer-consent")
    assert Literal("merged into customer-profile") in set(g.objects(consent, None))
    assert product_iri("customer-profile") in set(g.objects(consent, None))

    retired = c.post("/api/v1/products/customer-consent/deprecation",
                     json={"status": "retired"})
    assert retired.status_code == 201
    assert c.get("/api/v1/products/customer-consent").json()["lifecycleStatus"] == "retired"


def test_deprecation_refusals_write_nothing(demo_client: TestClient) -> None:
    c = demo_client
    before = state(c)
    unknown = c.post("/api/v1/products/no-such-product/deprecation", json={"reason": "x"})
    assert "no-such-product" in assert_problem(unknown, 404)["detail"]
    successor = c.post("/api/v1/products/customer-consent/deprecation",
                       json={"reason": "x", "successor": "no-such-product"})
    assert "no-such-product" in assert_problem(successor, 404)["detail"]
    deleted = c.post("/api/v1/products/customer-consent/deprecation",
                     json={"reason": "x", "status": "deleted"})
    problem = assert_problem(deleted, 400)
    assert [e["field"] for e in problem["errors"]] == ["body.status"]
    assert state(c) == before
    assert c.get("/api/v1/products/customer-consent").json()["lifecycleStatus"] == "active"


# ------------------------------------------------------------------ catalog
def test_register_catalog(client: TestClient) -> None:
    catalog = json_view(EXAMPLES / "catalog.yaml")
    r = client.post("/api/v1/catalog", content=(EXAMPLES / "catalog.yaml").read_bytes(),
                    headers={"Content-Type": YAML})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["accepted"] is True and out["unchanged"] is False
    assert out["logOffset"] == 1
    assert out["entities"] == {
        "domain": len(catalog["domains"]), "owner": len(catalog["owners"]),
        "application": len(catalog["applications"]), "term": len(catalog["glossary"]),
        "classification": len(catalog.get("classifications", [])),
        "reference-list": len(catalog.get("referenceLists", [])),
    }
    got = client.get("/api/v1/catalog")
    assert got.status_code == 200
    body = got.json()
    assert sorted(d["id"] for d in body["domains"]) == sorted(
        d["id"] for d in catalog["domains"])
    assert {o["id"] for o in body["owners"]} == {o["id"] for o in catalog["owners"]}
    assert len(body["glossary"]) == len(catalog["glossary"])

    # the same catalog again changes nothing
    again = client.post("/api/v1/catalog", content=(EXAMPLES / "catalog.yaml").read_bytes(),
                        headers={"Content-Type": YAML})
    assert again.json()["unchanged"] is True
    assert again.json()["logOffset"] == 1
    assert log_head(client) == 1


def test_catalog_with_unknown_domain_is_refused(catalog_client: TestClient) -> None:
    c = catalog_client
    before = state(c)
    body = yaml.safe_dump({"apiVersion": "dpgraph/v1", "kind": "Catalog", "owners": [
        {"id": "team-nowhere", "name": "Nowhere Team", "domain": "no-such-domain"}]})
    problem = assert_problem(c.post("/api/v1/catalog", content=body,
                                    headers={"Content-Type": YAML}), 422)
    violations = [e for e in problem["errors"] if e["severity"] == "violation"]
    assert [e["field"] for e in violations] == ["owners[0].domain"]
    assert "domain" in violations[0]["message"]
    assert state(c) == before
    assert "team-nowhere" not in {o["id"] for o in c.get("/api/v1/catalog").json()["owners"]}


def test_catalog_schema_errors_name_the_field(client: TestClient) -> None:
    problem = assert_problem(client.post("/api/v1/catalog", content=b"domains:\n  - nme: x\n",
                                         headers={"Content-Type": YAML}), 422)
    assert {e["field"] for e in problem["errors"]} == {"domains[0].id", "domains[0].nme"}
    assert all(e["rule"].startswith("schema:") for e in problem["errors"])
    assert log_head(client) == 0
def test_rdf_of_a_registered_product_reposted_is_unchanged(demo_client: TestClient) -> None:
    ttl = demo_client.get("/api/v1/products/customer-profile", headers={"Accept": "text/turtle"})
    r = demo_client.post("/api/v1/products", content=ttl.content,
                         headers={"Content-Type": "text/turtle"})
    assert r.status_code == 200, r.text
    assert r.json()["unchanged"] is True
    assert len(demo_client.get("/api/v1/products/customer-profile/versions").json()) == 1


def test_unchanged_catalog_answers_200_like_products(demo_client: TestClient) -> None:
    r = demo_client.post("/api/v1/catalog", content=(EXAMPLES / "catalog.yaml").read_bytes(),
                         headers={"Content-Type": YAML})
    assert r.json()["unchanged"] is True
    assert r.status_code == 200


def test_findings_come_in_a_stable_order(demo_client: TestClient) -> None:
    body = (EXAMPLES / "broken" / "no-elements.yaml").read_bytes()
    orders = set()
    for _ in range(10):
        refused = demo_client.post("/api/v1/products", content=body,
                                   headers={"Content-Type": YAML})
        orders.add(tuple(e["field"] for e in refused.json()["errors"]))
    assert len(orders) == 1, orders
