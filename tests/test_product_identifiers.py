"""dpg:productIdentifier: stated by the mapping, and given on start to the products of a
graph projected before the property existed (their graphs otherwise left as they were)."""

from __future__ import annotations

from pathlib import Path

from conftest import example_product
from pyoxigraph import Literal

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.demo import load_demo
from dpgraph.descriptor import ProductDescriptor
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

PRODUCTS = ("customer-profile", "sales-orders")  # two of the demo mesh's


def product_identifiers(rt: Runtime) -> set[tuple[str, str, str]]:
    rows = rt.store.select(f"SELECT ?g ?p ?id WHERE {{ GRAPH ?g {{ "
                           f"?p <{v.PRODUCT_IDENTIFIER.value}> ?id }} }}")
    return {(r["g"].value, r["p"].value, r["id"].value) for r in rows}


def test_products_of_an_older_graph_get_their_identifier_on_start(tmp_path: Path) -> None:
    rt = open_runtime(Settings(data_dir=tmp_path))
    try:
        load_demo(rt.registry, rt.artefacts.examples)
        rt.sync()
        ids = [p["id"] for p in rt.registry.list_products()]
        assert set(PRODUCTS) <= set(ids)
        expected = {(iris.product_graph(pid).value, iris.product(pid).value, pid) for pid in ids}
        assert product_identifiers(rt) == expected
        before = {pid: set(rt.registry.product_graph(pid)) for pid in PRODUCTS}
        rt.store.update(f"DELETE WHERE {{ GRAPH ?g {{ ?p <{v.PRODUCT_IDENTIFIER.value}> ?id }} }}")
        assert not product_identifiers(rt)
    finally:
        rt.close()
    rt = open_runtime(Settings(data_dir=tmp_path))  # a graph from before the property
    try:
        assert product_identifiers(rt) == expected
        for pid in PRODUCTS:
            assert set(rt.registry.product_graph(pid)) == before[pid]
        assert all(isinstance(t.object, Literal) for pid in PRODUCTS
                   for t in rt.registry.product_graph(pid)
                   if t.predicate == v.PRODUCT_IDENTIFIER)
        # The stored graph is again what the mapping gives: registering the same descriptor
        # changes nothing.
        again = rt.registry.register_product(
            ProductDescriptor.model_validate(example_product(PRODUCTS[0])))
        assert again.unchanged
    finally:
        rt.close()
