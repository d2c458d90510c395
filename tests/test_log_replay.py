"""The log is the truth: the graph is a projection that replay rebuilds identically."""

from __future__ import annotations

import sqlite3

import rdflib
from conftest import example_product
from pyoxigraph import RdfFormat, serialize
from rdflib.compare import to_isomorphic

from dpgraph import iris
from dpgraph.descriptor import ProductDescriptor
from dpgraph.log.sqlite_log import NewRecord
from dpgraph.offline_replay import replay
from dpgraph.runtime import open_runtime
from dpgraph.services.projector import PRODUCT_REGISTERED
from dpgraph.settings import Settings


def _dataset(store) -> rdflib.Dataset:
    ds = rdflib.Dataset()
    ds.parse(data=serialize(list(store.quads()), format=RdfFormat.N_QUADS), format="nquads")
    return ds


def _graphs(store) -> dict[str, rdflib.Graph]:
    ds = _dataset(store)
    return {str(g.identifier): to_isomorphic(g) for g in ds.graphs() if len(g)}


def test_replay_rebuilds_an_isomorphic_graph(settings: Settings) -> None:
    from dpgraph.demo import load_demo

    rt = open_runtime(settings)
    try:
        load_demo(rt.registry, rt.artefacts.examples)
        rt.registry.deprecate("customer-consent", reason="merged into profile",
                              successor="customer-profile")
        rt.sync()
        live = _graphs(rt.store)
        head = rt.log.head()
    finally:
        rt.close()
    assert iris.product_graph("customer-consent").value in live

    assert replay(settings) == head  # what `dpgraph replay` runs

    rt = open_runtime(settings, catch_up=False)
    try:
        rebuilt = _graphs(rt.store)
    finally:
        rt.close()
    assert rebuilt.keys() == live.keys()
    for name, graph in live.items():
        assert rebuilt[name] == graph, name


def test_projection_catches_up_after_a_crash_between_log_and_graph(settings: Settings) -> None:
    rt = open_runtime(settings)
    from dpgraph.demo import load_demo

    load_demo(rt.registry, rt.artefacts.examples)
    # A record committed to the log but never projected: what a crash right after the
    # log commit leaves behind.
    doc = ProductDescriptor.model_validate(example_product("customer-profile") | {
        "description": "written before the crash, projected after the restart"}
    ).model_dump(mode="json", exclude_none=True)
    rt.log.append([NewRecord(PRODUCT_REGISTERED, "customer-profile", {"descriptor": doc})])
    latest = rt.log.history("product.", "customer-profile")[-1]
    assert latest.payload["descriptor"]["description"] == doc["description"]  # logged…
    rt.close()

    rt = open_runtime(settings)  # …and start-up projects it into the graph
    try:
        assert rt.registry.offsets()["projected"] == rt.log.head()
        titles = [r["d"].value for r in rt.store.select(
            "SELECT ?d WHERE { ?p <http://purl.org/dc/terms/identifier> 'customer-profile' ;"
            " <http://purl.org/dc/terms/description> ?d }")]
        assert titles == [doc["description"]]
    finally:
        rt.close()


def test_reapplying_a_record_changes_nothing(demo_runtime) -> None:
    demo_runtime.sync()
    before = _graphs(demo_runtime.store)
    record = next(demo_runtime.log.read(after=demo_runtime.log.head() - 1))
    demo_runtime.projector.apply(record)
    assert _graphs(demo_runtime.store) == before


def test_log_commits_with_full_synchronous_wal(settings: Settings) -> None:
    rt = open_runtime(settings)
    rt.close()
    db = sqlite3.connect(settings.data_dir / "log.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    # synchronous is a per-connection setting: check the one the log opens.
    from dpgraph.log.sqlite_log import SqliteLog

    log = SqliteLog(settings.data_dir / "log.sqlite")
    assert log._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    log.close()


def test_a_second_process_cannot_open_the_data_directory(runtime, settings: Settings) -> None:
    import pytest

    from dpgraph.errors import StoreLocked

    with pytest.raises(StoreLocked, match="in use by another dpgraph process"):
        open_runtime(settings)
