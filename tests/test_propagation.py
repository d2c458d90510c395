"""Classification propagation along column lineage and schema drift: the rule on hand-written
derivations, the label fixpoint, the demo mesh with its recorded lineage (expectations derived
by hand from examples/), findings as events and registrations arrive, replay, and HTTP."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES
from fastapi.testclient import TestClient
from mesh_fixture import LINEAGE_EVENTS, open_mesh

from dpgraph.demo import demo_products, load_demo
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.offline_replay import replay
from dpgraph.propagation.derivations import derivation_rule
from dpgraph.propagation.drift import compare_schema, same_type
from dpgraph.propagation.flow import LabelFlow
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

PRODUCER = "https://github.com/example/dpgraph-tests"
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
CL_URL = ("https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
          "#/$defs/ColumnLineageDatasetFacet")
SCHEMA_URL = ("https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
              "#/$defs/SchemaDatasetFacet")
CUSTOMER_GOLD = ("s3://mesh-customer-gold", "customer_profile")
MARKETING_GOLD = ("s3://mesh-marketing-gold", "campaign_responses")
SALES_DUCKDB = ("duckdb://mesh.duckdb", "mesh.main.sales_orders")
IDENTITY = [{"type": "DIRECT", "subtype": "IDENTITY"}]


# ---------------------------------------------------------------- events
def event(job: str, output: tuple[str, str], *,
          lineage: dict[str, list[tuple[tuple[str, str], str, list[dict[str, Any]] | None]]]
          | None = None, legacy: dict[str, str] | None = None,
          schema: list[tuple[str, str]] | None = None,
          time: str = "2026-12-01T10:00:00Z", run: str | None = None) -> bytes:
    """A COMPLETE run event of ``job`` writing ``output``; ``lineage`` maps an output field
    to its (input dataset, input field, transformations) sources."""
    facets: dict[str, Any] = {}
    if lineage is not None:
        fields = {}
        for out_field, sources in lineage.items():
            entry: dict[str, Any] = {"inputFields": [
                {"namespace": ds[0], "name": ds[1], "field": f,
                 **({"transformations": t} if t is not None else {})}
                for ds, f, t in sources]}
            if legacy and out_field in legacy:
                entry["transformationType"] = legacy[out_field]
            fields[out_field] = entry
        facets["columnLineage"] = {"_producer": PRODUCER, "_schemaURL": CL_URL,
                                   "fields": fields}
    if schema is not None:
        facets["schema"] = {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL,
                            "fields": [{"name": n, "type": t} for n, t in schema]}
    inputs = sorted({ds for sources in (lineage or {}).values() for ds, _, _ in sources})
    body = {"eventType": "COMPLETE", "eventTime": time, "producer": PRODUCER,
            "schemaURL": SPEC, "run": {"runId": run or str(uuid.uuid4())},
            "job": {"namespace": "mesh-tests", "name": job},
            "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
            "outputs": [{"namespace": output[0], "name": output[1], "facets": facets}]}
    return json.dumps(body).encode()


def weaker(rt: Runtime) -> list[dict[str, Any]]:
    assert rt.column_flow is not None
    return [f.to_json() for f in rt.column_flow.weaker_classifications()]


def fields(rt: Runtime, dataset: tuple[str, str]) -> dict[str, dict[str, Any]]:
    assert rt.column_flow is not None
    out = rt.column_flow.classifications(dataset[0], dataset[1], None)
    return {f["field"]: f for f in out["fields"]}


def labels(rt: Runtime, dataset: tuple[str, str], field: str) -> list[str]:
    return [x["label"] for x in fields(rt, dataset).get(field, {"labels": []})["labels"]]


@pytest.fixture
def mesh_runtime(runtime: Runtime) -> Runtime:
    """The demo catalog and products, no lineage."""
    load_demo(runtime.registry, runtime.artefacts.examples)
    return runtime


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Any:
    rt = open_mesh(tmp_path_factory.mktemp("mesh") / "data")
    rt.sync()
    yield rt
    rt.close()


# ---------------------------------------------------------------- the rule (pure)
@pytest.mark.parametrize(("transformations", "legacy", "carries"), [
    ([{"type": "DIRECT", "subtype": "IDENTITY"}], None, True),
    ([{"type": "DIRECT", "subtype": "TRANSFORMATION"}], None, True),
    ([{"type": "DIRECT", "subtype": "AGGREGATION"}], None, True),
    ([{"type": "DIRECT", "subtype": "AGGREGATION", "masking": True}], None, False),
    ([{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}], None, False),
    ([{"type": "INDIRECT", "subtype": "JOIN"}], None, False),
    ([{"type": "INDIRECT", "subtype": "FILTER"}], None, False),
    ([{"type": "INDIRECT", "subtype": "GROUP_BY"}], None, False),
    ([{"type": "INDIRECT", "subtype": "FILTER"}, {"type": "DIRECT", "subtype": "IDENTITY"}],
     None, True),
    (None, "MASKED", False),
    (None, "IDENTITY", True),
    (None, None, True),  # not reported: carried, when in doubt
])
def test_derivation_rule(transformations: Any, legacy: Any, carries: bool) -> None:
    assert derivation_rule(transformations, legacy)[2] is carries


def test_type_normalisation_and_schema_comparison() -> None:
    for a, b in [("string", "VARCHAR"), ("TEXT", "varchar(254)"), ("INT", "INTEGER"),
                 ("long", "BIGINT"), ("union{null,string}", "string"),
                 ("timestamp-millis", "TIMESTAMP"), ("DECIMAL(18,2)", "decimal(18, 2)"),
                 ("decimal", "DECIMAL(18,2)"), ("array<string>", "ARRAY<VARCHAR>")]:
        assert same_type(a, b), (a, b)
    for a, b in [("INT", "BIGINT"), ("DECIMAL(18,2)", "DECIMAL(10,2)"), ("date", "timestamp"),
                 ("string", "INT")]:
        assert not same_type(a, b), (a, b)
    drift = compare_schema(
        (("ORDER_ID", "VARCHAR"), ("amount", "DECIMAL(10,2)"), ("note", "string")),
        [{"name": "order_id", "type": "string", "element": "order_id"},
         {"name": "amount", "type": "DECIMAL(18,2)", "element": "net"},
         {"name": "status", "type": "string", "element": "status"}])
    assert [(d.change, d.column, d.registered_type, d.observed_type) for d in drift] == [
        ("type-changed", "amount", "DECIMAL(18,2)", "DECIMAL(10,2)"),
        ("removed", "status", "string", None),
        ("added", "note", None, "string")]


# ---------------------------------------------------------------- the fixpoint (pure)
def test_incremental_labels_equal_a_full_recompute() -> None:
    rng = random.Random(7)
    columns = [(f"ds{i // 5}", f"c{i % 5}") for i in range(300)]
    flow = LabelFlow()
    added: list[tuple[Any, Any]] = []
    for step in range(900):
        if step % 30 == 0:
            flow.add_seed(rng.choice(columns), rng.choice(["pii", "internal"]), step)
        a, b = rng.sample(columns, 2)
        flow.add_edge(a, b)
        added.append((a, b))
    live = {c: flow.labels(c) for c in columns}
    assert flow.recompute() > 0
    assert {c: flow.labels(c) for c in columns} == live
    for a, b in added[:400]:  # removals: stale, then recomputed on read
        flow.remove_edge(a, b)
    assert flow.stale
    after = {c: flow.labels(c) for c in columns}
    fresh = LabelFlow()
    for a, b in added[400:]:
        fresh.add_edge(a, b)
    for n, by_label in flow._seeds.items():
        for label, refs in by_label.items():
            for ref in refs:
                fresh.add_seed(flow.column(n), label, ref)
    assert {c: fresh.labels(c) for c in columns} == after


def test_path_walks_back_to_the_nearest_seed() -> None:
    flow = LabelFlow()
    flow.add_edge(("a", "x"), ("b", "x"))
    flow.add_edge(("b", "x"), ("c", "y"))
    flow.add_seed(("a", "x"), "pii", "ref")
    assert flow.path(("c", "y"), "pii") == [("a", "x"), ("b", "x"), ("c", "y")]
    assert flow.path(("c", "y"), "internal") == []


# ---------------------------------------------------------------- the demo mesh
def test_demo_pii_email_flows_into_responses_and_the_export(mesh: Runtime) -> None:
    contact = fields(mesh, MARKETING_GOLD)["contact_email"]
    assert [x["label"] for x in contact["labels"]] == ["pii"]
    path = contact["labels"][0]["path"]
    assert path["source"] == {"label": "pii", "product": "customer-profile",
                              "element": "email_address",
                              "representation": "customer-profile-delta",
                              "column": "email_address"}
    assert [(h["from"]["field"], h["to"]["field"], h["job"]["name"], h["transformation"])
            for h in path["hops"]] == [("email_address", "contact_email",
                                        "mesh.marketing_campaign_responses", "DIRECT/IDENTITY")]
    assert contact["registered"] == []  # responses-delta has no contact_email attribute
    export = fields(mesh, ("file", "/exports/campaign_contacts.csv"))["email"]
    assert [x["label"] for x in export["labels"]] == ["pii"]
    assert len(export["labels"][0]["path"]["hops"]) == 2
    # customer_id: confidential registered upstream and downstream, internal from nothing
    assert labels(mesh, MARKETING_GOLD, "customer_id") == ["confidential"]
    # the CRM extract is no product's: nothing is seeded there, so nothing flows from it
    assert labels(mesh, ("s3://mesh-customer-bronze", "crm_contacts"), "email") == []


def test_demo_has_no_weaker_classification(mesh: Runtime) -> None:
    # response_id internal <- webhooks eventId internal; customer_id confidential <-
    # confidential: every registered column receives at most its own rank.
    assert weaker(mesh) == []


def test_demo_drift(mesh: Runtime) -> None:
    assert mesh.column_flow is not None
    sales = mesh.column_flow.drift("sales-orders")
    (rep,) = sales["representations"]
    assert rep["representation"] == "sales-orders-duckdb"
    assert rep["run"]["runId"] == "0192e8b4-0000-7000-8000-000000000002"
    assert rep["run"]["job"] == {"namespace": "mesh-dbt", "name": "mesh.sales_orders"}
    # VARCHAR and DECIMAL(18,2) as registered: only the 7 columns the run did not report
    assert sorted(c["column"] for c in rep["changes"]) == sorted(
        ["ordered_at", "order_status", "sales_channel", "shipping_country", "currency_code",
         "tax_amount", "gross_amount"])
    assert {c["change"] for c in rep["changes"]} == {"removed"}
    assert all(c["run"]["runId"] == rep["run"]["runId"] for c in rep["changes"])
    marketing = mesh.column_flow.drift("marketing-campaign-responses")["representations"]
    (resp,) = marketing
    assert [(c["change"], c["column"]) for c in resp["changes"]
            if c["change"] != "removed"] == [("added", "contact_email")]
    assert mesh.column_flow.drift("finance-invoices") == {
        "product": "finance-invoices", "drifted": False, "representations": []}
    found = sorted(f.subject for f in mesh.column_flow.drift_findings())
    assert found == ["representation:customer-profile/customer-profile-delta",
                     "representation:marketing-campaign-responses/responses-delta",
                     "representation:sales-orders/sales-orders-duckdb"]


# ---------------------------------------------------------------- findings as events arrive
def test_identity_into_a_weaker_column_raises_and_masking_clears(mesh_runtime: Runtime
                                                                 ) -> None:
    rt = mesh_runtime
    rt.lineage.receive(event("leak", MARKETING_GOLD, lineage={
        "channel": [(CUSTOMER_GOLD, "email_address", IDENTITY)]},
        time="2026-12-01T10:00:00Z"))
    (finding,) = weaker(rt)
    assert finding["kind"] == "weaker-classification"
    assert finding["subject"] == "column:marketing-campaign-responses/responses-delta/channel"
    assert finding["product"] == "marketing-campaign-responses"
    assert finding["domain"] == "marketing"
    ev = finding["evidence"]
    assert ev["registered"] == {"label": "public", "rank": 0}
    assert ev["flowing"] == [{"label": "pii", "rank": 3}]
    assert ev["path"]["source"]["element"] == "email_address"
    assert [h["job"]["name"] for h in ev["path"]["hops"]] == ["leak"]
    # the job's next run masks it: its current derivation no longer carries the label
    rt.lineage.receive(event("leak", MARKETING_GOLD, lineage={
        "channel": [(CUSTOMER_GOLD, "email_address",
                     [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}])]},
        time="2026-12-02T10:00:00Z"))
    assert weaker(rt) == []
    assert labels(rt, MARKETING_GOLD, "channel") == ["public"]
    (derived,) = fields(rt, MARKETING_GOLD)["channel"]["derivedFrom"]
    assert derived["masking"] is True and derived["carriesLabels"] is False
    # an older run posted late does not bring the unmasked derivation back
    rt.lineage.receive(event("leak", MARKETING_GOLD, lineage={
        "channel": [(CUSTOMER_GOLD, "email_address", IDENTITY)]},
        time="2026-11-30T10:00:00Z"))
    assert weaker(rt) == []


def test_masked_legacy_and_indirect_do_not_carry_stronger_does_not_raise(
        mesh_runtime: Runtime) -> None:
    rt = mesh_runtime
    rt.lineage.receive(event("legacy", MARKETING_GOLD, lineage={
        "response_type": [(CUSTOMER_GOLD, "given_name", None)],
        "campaign_id": [(CUSTOMER_GOLD, "email_address",
                         [{"type": "INDIRECT", "subtype": "JOIN"}])],
        # confidential customer_id receives public country_code: weaker flows in, fine
        "customer_id": [(CUSTOMER_GOLD, "country_code", IDENTITY)]},
        legacy={"response_type": "MASKED"}))
    assert labels(rt, MARKETING_GOLD, "response_type") == ["internal"]
    assert labels(rt, MARKETING_GOLD, "campaign_id") == ["internal"]
    assert labels(rt, MARKETING_GOLD, "customer_id") == ["confidential", "public"]
    assert weaker(rt) == []


def test_a_label_reaches_a_registered_column_through_a_shadow_dataset(
        mesh_runtime: Runtime) -> None:
    rt = mesh_runtime
    shadow = ("file", "/tmp/scratch.parquet")
    rt.lineage.receive(event("copy-out", shadow, lineage={
        "dob": [(CUSTOMER_GOLD, "date_of_birth",
                 [{"type": "DIRECT", "subtype": "AGGREGATION"}])]}))
    rt.lineage.receive(event("copy-in", MARKETING_GOLD, lineage={
        "responded_at": [(shadow, "dob", [{"type": "DIRECT", "subtype": "TRANSFORMATION"}])]}))
    (finding,) = weaker(rt)
    hops = finding["evidence"]["path"]["hops"]
    assert [(h["to"]["field"], h["transformation"]) for h in hops] == [
        ("dob", "DIRECT/AGGREGATION"), ("responded_at", "DIRECT/TRANSFORMATION")]


def _post_leak(rt: Runtime) -> None:
    rt.lineage.receive(event("leak", MARKETING_GOLD, lineage={
        "channel": [(CUSTOMER_GOLD, "email_address", IDENTITY)]},
        schema=[("channel", "string"), ("response_id", "INTEGER")],
        run="0192e8b4-0000-7000-8000-0000000000aa"))


def test_registering_before_or_after_lineage_gives_the_same_answer(tmp_path: Path) -> None:
    answers = []
    for name, lineage_first in (("before", False), ("after", True)):
        rt = open_runtime(Settings(data_dir=tmp_path / name))
        try:
            catalog = yaml.safe_load((EXAMPLES / "catalog.yaml").read_text(encoding="utf-8"))
            rt.registry.register_catalog(CatalogDescriptor.model_validate(catalog))
            if lineage_first:
                for path in LINEAGE_EVENTS:
                    rt.lineage.receive(path.read_bytes())
                _post_leak(rt)
            for d in demo_products(EXAMPLES / "products"):
                rt.registry.register_product(d)
            if not lineage_first:
                for path in LINEAGE_EVENTS:
                    rt.lineage.receive(path.read_bytes())
                _post_leak(rt)
            assert rt.column_flow is not None
            answers.append((weaker(rt), rt.column_flow.drift("marketing-campaign-responses"),
                            fields(rt, ("file", "/exports/campaign_contacts.csv"))))
        finally:
            rt.close()
    assert len(answers[0][0]) == 1
    for before, after in zip(answers[0], answers[1], strict=True):
        assert json.dumps(before, sort_keys=True, default=str) == \
            json.dumps(after, sort_keys=True, default=str)


def test_reregistration_with_a_stronger_label_clears_and_replay_agrees(tmp_path: Path
                                                                       ) -> None:
    data = tmp_path / "data"
    rt = open_mesh(data)
    _post_leak(rt)
    assert len(weaker(rt)) == 1
    drift_live = rt.column_flow.drift("marketing-campaign-responses")  # type: ignore[union-attr]
    retyped = [c for r in drift_live["representations"] for c in r["changes"]
               if c["change"] == "type-changed"]
    assert [(c["column"], c["registeredType"], c["observedType"]) for c in retyped] == [
        ("response_id", "string", "INTEGER")]
    live = (weaker(rt), drift_live, fields(rt, MARKETING_GOLD))
    rt.close()

    replay(Settings(data_dir=data))
    replayed = open_runtime(Settings(data_dir=data))
    try:
        again = (weaker(replayed),
                 replayed.column_flow.drift("marketing-campaign-responses"),  # type: ignore
                 fields(replayed, MARKETING_GOLD))
        assert json.dumps(again, sort_keys=True, default=str) == \
            json.dumps(live, sort_keys=True, default=str)
        # raising channel to pii in the registration removes the finding (a removal of a
        # seed: recomputed)
        d = yaml.safe_load((EXAMPLES / "products" / "marketing-campaign-responses.yaml")
                           .read_text(encoding="utf-8"))
        for e in d["elements"]:
            if e["name"] == "channel":
                e["classification"] = "pii"
        outcome = replayed.registry.register_product(ProductDescriptor.model_validate(d))
        assert outcome.accepted
        replayed.sync()
        assert weaker(replayed) == []
    finally:
        replayed.close()


# ---------------------------------------------------------------- HTTP
def test_http_drift_classifications_and_problems(demo_client: TestClient) -> None:
    # the demo's dbt run (examples/lineage-dbt) drops discount_amount from the gold table
    r = demo_client.get("/api/v1/products/sales-order-lines/drift")
    assert r.status_code == 200
    assert r.json()["drifted"] is True
    r = demo_client.get("/api/v1/products/no-such-product/drift")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["rule"] == "drift:known-product"
    r = demo_client.get("/api/v1/classifications",
                        params={"namespace": MARKETING_GOLD[0], "name": MARKETING_GOLD[1]})
    assert r.status_code == 200
    by_field = {f["field"]: f for f in r.json()["fields"]}
    assert [x["label"] for x in by_field["contact_email"]["labels"]] == ["pii"]
    r = demo_client.get("/api/v1/classifications",
                        params={"location": "s3://mesh-marketing-gold/campaign_responses/"})
    assert {f["field"]: f for f in r.json()["fields"]}.keys() == by_field.keys()
    r = demo_client.get("/api/v1/classifications", params={"namespace": "s3://x"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "name"
