"""Each named query's Cypher version returns the same rows as its SPARQL version, on every
Cypher backend, over the demo mesh plus the lineage events of examples/lineage.

TO BE FINISHED WHEN MERGING WITH THE CYPHER BACKENDS: fill ``BACKENDS`` with one factory per
backend kind. A factory gets the runtime (its log and graph are loaded with the mesh) and
returns the backend's ``query`` callable (``CypherBackend.query``) over a property-graph view
projected from that runtime's log. Until then every test here fails, on purpose: an empty
parametrisation would be reported as skipped, and a stub would prove nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mesh_fixture import NOW, open_mesh
from test_named_queries import QUERIES

from dpgraph.runtime import Runtime
from dpgraph.services.named_queries import CypherQuery, NamedQueries, load_all


def _not_wired(kind: str) -> Callable[[Runtime], CypherQuery]:
    def factory(rt: Runtime) -> CypherQuery:
        raise NotImplementedError(f"wire the {kind} Cypher backend into "
                                  "tests/test_named_queries_cypher.py::BACKENDS")
    return factory


BACKENDS: dict[str, Callable[[Runtime], CypherQuery]] = {
    "embedded": _not_wired("embedded"),
    "bolt": _not_wired("bolt"),
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
    rt.close()


def _key(row: list[Any]) -> list[tuple[bool, str]]:
    return [(v is None, _text(v)) for v in row]


def _text(value: Any) -> str:
    return "" if value is None else f"{type(value).__name__}:{value}"


@pytest.mark.parametrize("name", sorted(load_all(QUERIES)))
@pytest.mark.parametrize("kind", sorted(BACKENDS))
def test_cypher_and_sparql_return_the_same_rows(mesh: Runtime, kind: str, name: str) -> None:
    backend = BACKENDS[kind](mesh)
    queries = NamedQueries(QUERIES, mesh.store, mesh.sync, backend)
    params = PARAMS.get(name, {})
    sparql = queries.run(name, params, "sparql")
    cypher = queries.run(name, params, "cypher")
    assert cypher.columns == sparql.columns
    assert sparql.rows, f"{name} finds nothing on the test mesh; the comparison proves nothing"
    # Both order their rows, but engines order nulls differently: compare as sorted lists.
    assert sorted(cypher.rows, key=_key) == sorted(sparql.rows, key=_key)
