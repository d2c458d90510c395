"""Each named query's Cypher version returns the same rows as its SPARQL version, on every
Cypher backend, over the demo mesh plus the lineage events of examples/lineage.

Backends: the runtime's own embedded (Kùzu) view, and a real FalkorDB server over Bolt
(tests/falkordb_server.py) fed from the same log by the same projection code.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES
from falkordb_server import FalkorDB
from mesh_fixture import NOW, open_mesh
from test_named_queries import QUERIES

from dpgraph.cypher.bolt import BoltBackend
from dpgraph.cypher.projection import CypherView
from dpgraph.cypher.readonly import check_read_only
from dpgraph.cypher.schema_signature import signature
from dpgraph.runtime import Runtime
from dpgraph.services.latest_schemas import LATEST_SCHEMA_GRAPH
from dpgraph.services.named_queries import CypherQuery, NamedQueries, load_all
from dpgraph.services.representation_links import LINKS_GRAPH


def _embedded(rt: Runtime, tmp: Path) -> CypherQuery:
    assert rt.cypher is not None
    return rt.cypher.rows  # the service's own view: waits for it, checks read-only


def _bolt(rt: Runtime, tmp: Path) -> CypherQuery:
    """A real FalkorDB over Bolt, fed from the mesh's log by the same projection code."""
    server = FalkorDB(tmp)
    _cleanup.append(server.stop)
    backend = BoltBackend(server.uri, server.user, server.password, server="falkordb")
    _cleanup.append(backend.close)
    view = CypherView(backend, rt.log, name="cypher-bolt-test")
    view.rebuild()
    view.catch_up()

    def run(cypher: str, params: Mapping[str, Any] | None = None, *,
            timeout: float) -> list[dict[str, Any]]:
        return backend.query(check_read_only(cypher).text, params, timeout=timeout)
    return run


_cleanup: list[Callable[[], None]] = []
BACKENDS: dict[str, Callable[[Runtime, Path], CypherQuery]] = {
    "embedded": _embedded,
    "bolt": _bolt,
}


# Parameters for the queries that need them (the same ones as the SPARQL tests).
PARAMS: dict[str, dict[str, str]] = {
    "inactive_owner_or_expired_contract": {"now": NOW},
    "join_keys_between": {"product_a": "sales-orders", "product_b": "customer-profile"},
    "upstream_lineage": {"product": "marketing-campaign-responses"},
    "downstream_impact": {"namespace": "s3://mesh-customer-gold", "name": "customer_profile"},
    "stale_products": {"now": NOW},
    "failed_runs_by_domain": {"now": NOW},
}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = open_mesh(tmp_path_factory.mktemp("mesh-cypher") / "data")
    yield rt
    for stop in reversed(_cleanup):
        stop()
    rt.close()


@pytest.fixture(scope="module")
def backends(mesh: Runtime, tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, CypherQuery]:
    return {kind: factory(mesh, tmp_path_factory.mktemp(kind))
            for kind, factory in BACKENDS.items()}


def _key(row: list[Any]) -> list[tuple[bool, str]]:
    return [(v is None, _text(v)) for v in row]


def _text(value: Any) -> str:
    return "" if value is None else f"{type(value).__name__}:{value}"


@pytest.mark.parametrize("name", sorted(load_all(QUERIES)))
@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_cypher_and_sparql_return_the_same_rows(mesh: Runtime, backends: dict[str, CypherQuery],
                                               kind: str, name: str) -> None:
    backend = backends[kind]
    queries = NamedQueries(QUERIES, mesh.store, mesh.sync, backend)
    params = PARAMS.get(name, {})
    sparql = queries.run(name, params, "sparql")
    cypher = queries.run(name, params, "cypher")
    assert cypher.columns == sparql.columns
    assert sparql.rows, f"{name} finds nothing on the test mesh; the comparison proves nothing"
    # Both order their rows, but engines order nulls differently: compare as sorted lists.
    assert sorted(cypher.rows, key=_key) == sorted(sparql.rows, key=_key)


# pii_flow as it was written before it became one part: the flows, then the elements that
# flow nowhere, in two UNION parts (see queries/pii_flow.cypher).
UNION_PII_FLOW = Path(__file__).parent / "pii_flow_union.cypher"
PII_FLOW_ROWS = [
    ["customer-profile/date_of_birth", None, None, None],
    ["customer-profile/email_address", "file:/exports/campaign_contacts.csv", "email", None],
    ["customer-profile/email_address", "s3://mesh-marketing-gold:campaign_responses",
     "contact_email", "marketing-campaign-responses"],
    ["customer-profile/family_name", None, None, None],
    ["customer-profile/given_name", None, None, None],
    ["customer-profile/phone_number", None, None, None],
    ["customer-profile/postal_code", None, None, None],
    ["logistics-shipments/destination_postal_code", None, None, None],
]


@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_a_union_query_comes_back_in_its_declared_order(mesh: Runtime,
                                                        backends: dict[str, CypherQuery],
                                                        kind: str, tmp_path: Path) -> None:
    # openCypher orders only the last part of a UNION, so the service sorts such a query's
    # rows. Without it the two flows of email_address (events 04, 05) would come before
    # date_of_birth.
    shutil.copy(UNION_PII_FLOW, tmp_path / "pii_flow.cypher")
    shutil.copy(QUERIES / "pii_flow.rq", tmp_path)
    union = NamedQueries(tmp_path, mesh.store, mesh.sync, backends[kind])
    assert union.get("pii_flow").cypher_is_union
    assert union.run("pii_flow", {}, "cypher").rows == PII_FLOW_ROWS
    # The one-part query of queries/ returns the same rows, ordered by the engine.
    queries = NamedQueries(QUERIES, mesh.store, mesh.sync, backends[kind])
    assert not queries.get("pii_flow").cypher_is_union
    assert queries.run("pii_flow", {}, "cypher").rows == PII_FLOW_ROWS
    assert not queries.get("products_by_domain").cypher_is_union


PROFILE_COLUMNS = [("customer_id", "string"), ("given_name", "string"),
                   ("family_name", "string"), ("email_address", "string"),
                   ("phone_e164", "string"), ("date_of_birth", "date"),
                   ("postal_code", "string"), ("country_code", "string"),
                   ("segment", "string"), ("loyalty_tier", "string"), ("registered_on", "date")]


def _profile_event(n: int, at: str, fields: list[tuple[str, str]]) -> bytes:
    """A run of event 02's job that reports this schema of customer_profile."""
    event = json.loads((EXAMPLES / "lineage" / "02-customer-profile-complete.json")
                       .read_text(encoding="utf-8"))
    event["run"]["runId"] = f"0192e8b4-0000-7000-8000-{n:012d}"
    event["eventTime"] = at
    event["inputs"] = []
    output = event["outputs"][0]
    output["facets"] = {"schema": {**output["facets"]["schema"],
                                   "fields": [{"name": a, "type": b} for a, b in fields]}}
    return json.dumps(event).encode()


def test_schema_drift_finds_added_removed_and_retyped_columns_in_both_languages(
        tmp_path: Path) -> None:
    # A later run of event 02's job writes customer_profile with four typed fields. Against
    # customer-profile.yaml's customer-profile-delta columns: CUSTOMER_ID is customer_id
    # retyped (string -> bigint, names matched case-insensitively), Given_Name and Segment
    # agree (STRING vs string compares equal), churn_score is not registered (added), and the
    # other eight registered columns are missing (removed).
    rt = open_mesh(tmp_path / "data")
    try:
        rt.lineage.receive(_profile_event(1, "2026-11-24T02:00:00Z", [
            ("CUSTOMER_ID", "bigint"), ("Given_Name", "STRING"), ("Segment", "string"),
            ("churn_score", "double")]))
        profile = ["customer-profile/customer-profile-delta",
                   "s3://mesh-customer-gold:customer_profile"]
        expected = [
            [*profile, "added", "churn_score", None, "double"],
            *([*profile, "removed", name, kind, None] for name, kind in [
                ("country_code", "string"), ("date_of_birth", "date"),
                ("email_address", "string"), ("family_name", "string"),
                ("loyalty_tier", "string"), ("phone_e164", "string"),
                ("postal_code", "string"), ("registered_on", "date")]),
            [*profile, "retyped", "customer_id", "string", "bigint"],
        ]
        assert rt.queries is not None
        for language in ("sparql", "cypher"):
            rows = rt.queries.run("schema_drift", {}, language).rows
            assert [r for r in rows if r[:2] == profile] == expected, language
    finally:
        rt.close()


def test_schema_drift_takes_the_union_of_schemas_reported_at_the_same_instant(
        tmp_path: Path) -> None:
    # Two runs report customer_profile at one instant: one with exactly the registered
    # columns, one with an extra field. The latest schema is their union, so the extra field
    # is added, whichever of the two schemas' signatures is the larger (both cases: the one
    # where the matching schema's hash is the highest of the instant is the one a single
    # "latest" hash would wrongly skip). A later instant replaces the earlier one, and an
    # older drifted schema arriving last changes nothing.
    matching = signature(PROFILE_COLUMNS)
    assert matching is not None
    extra = {}
    for i in range(100):
        sig = signature([*PROFILE_COLUMNS, (f"extra_{i}", "int")])
        assert sig is not None
        extra.setdefault(sig < matching, f"extra_{i}")
    rt = open_mesh(tmp_path / "data")
    profile = ["customer-profile/customer-profile-delta",
               "s3://mesh-customer-gold:customer_profile"]
    try:
        assert rt.queries is not None and rt.cypher is not None

        def drift() -> list[list[Any]]:
            out = {}
            for language in ("sparql", "cypher"):
                out[language] = [r for r in rt.queries.run("schema_drift", {}, language).rows
                                 if r[:2] == profile]
            assert out["sparql"] == out["cypher"]
            return out["cypher"]

        n = 0
        for hour, name in enumerate((extra[True], extra[False]), start=2):
            at = f"2026-11-24T{hour:02d}:00:00Z"
            for fields in (PROFILE_COLUMNS, [*PROFILE_COLUMNS, (name, "int")]):
                n += 1
                rt.lineage.receive(_profile_event(n, at, fields))
            assert drift() == [[*profile, "added", name, None, "int"]], name
        rt.lineage.receive(_profile_event(10, "2026-11-24T05:00:00Z", PROFILE_COLUMNS))
        assert drift() == []
        rt.lineage.receive(_profile_event(11, "2026-11-24T01:00:00Z",
                                          [("customer_id", "bigint")]))
        assert drift() == []
        # ... and the last answer came from the signatures, not from reading the fields
        signed = rt.cypher.rows(
            "MATCH (r:Representation)<-[:REPRESENTS]-(ds:Dataset) WHERE r.id = $r "
            "RETURN right(ds.schemaHi, 32) = r.columnsSig AND "
            "right(ds.schemaLo, 32) = r.columnsSigLow AS same", {"r": profile[0]}, timeout=30)
        assert signed == [{"same": True}]
        # ... and in RDF (links and latest-schema graphs) the same signatures let the SPARQL
        # query skip the pair
        rdf = [(r["c"].value, r["s"].value) for r in rt.store.select(f"""
            PREFIX dpg: <https://w3id.org/dpgraph/ns#>
            SELECT ?c ?s WHERE {{
              GRAPH <{LINKS_GRAPH.value}> {{ ?ds dpg:representedBy ?rep .
                                            ?rep dpg:columnsSignature ?c }}
              GRAPH <{LATEST_SCHEMA_GRAPH.value}> {{ ?ds dpg:schemaSignature ?s }}
              FILTER (STRENDS(STR(?rep), "/representation/customer-profile-delta")) }}""")]
        assert rdf == [(matching, matching)]
    finally:
        rt.close()
