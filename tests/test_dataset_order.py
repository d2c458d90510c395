"""Each lineage dataset's dpg:nameOrder: integers that sort as the datasets' names, however they
arrive, the same whatever the batches, and whole in the store after a failed write."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from pyoxigraph import Literal, Quad
from test_lineage_summary import event, records

from dpgraph import vocab as v
from dpgraph.lineage.iris import dataset, namespace
from dpgraph.services.dataset_order import STEP, DatasetOrder
from dpgraph.services.lineage_summary import SUMMARY_GRAPH, LineageSummary
from dpgraph.store.base import GraphStore
from dpgraph.store.oxigraph_store import OxigraphStore

NS = "postgres://db:5432"


def stored(store: GraphStore) -> dict[str, int]:
    rows = store.select(f"""SELECT ?ds ?o WHERE {{
        GRAPH <{SUMMARY_GRAPH.value}> {{ ?ds <{v.NAME_ORDER.value}> ?o }} }}""")
    return {r["ds"].value: int(r["o"].value) for r in rows}  # type: ignore[union-attr]


def summarised(store: GraphStore, names: list[str]) -> None:
    """The summary triples the order is read from when it is loaded or backfilled."""
    ns = namespace(NS)
    quads = [Quad(ns, v.DCT_IDENTIFIER, Literal(NS), SUMMARY_GRAPH)]
    for name in names:
        ds = dataset(NS, name)
        quads += [Quad(ds, v.DATASET_NAME, Literal(name), SUMMARY_GRAPH),
                  Quad(ds, v.IN_NAMESPACE, ns, SUMMARY_GRAPH)]
    store.add_quads(quads)


def add(order: DatasetOrder, names: list[str]) -> None:
    order.add([(dataset(NS, name), f"{NS}:{name}") for name in names])


def assert_sorted_as_names(store: GraphStore, names: list[str]) -> None:
    labels = stored(store)
    assert len(labels) == len(set(names))
    by_label = sorted(labels, key=labels.__getitem__)
    assert by_label == [dataset(NS, n).value for n in sorted(set(names))]


def squeezed(count: int) -> list[str]:
    """Each name between the previous one and "b": every label halves the same gap, so the
    integers between neighbours run out after ~32 names and a window is spread again."""
    return ["a", "b", "c"] + ["a" + "z" * k for k in range(1, count - 2)]


def test_labels_sort_as_names_in_any_arrival_order() -> None:
    rng = random.Random(7)
    names = [f"sales.t{rng.randrange(10**6):06d}" for _ in range(2000)] + squeezed(200)
    rng.shuffle(names)
    store = OxigraphStore(None)
    order = DatasetOrder(store, SUMMARY_GRAPH)
    order.clear()  # a new store: nothing to load
    for i in range(0, len(names), 97):
        add(order, names[i:i + 97])
    assert_sorted_as_names(store, names)


def test_names_arriving_in_order_take_a_fixed_step() -> None:
    store = OxigraphStore(None)
    order = DatasetOrder(store, SUMMARY_GRAPH)
    order.clear()
    add(order, ["a", "b", "c"])
    assert sorted(stored(store).values()) == [STEP - 1, 2 * STEP - 1, 3 * STEP - 1]


def test_labels_are_the_same_whatever_the_batches_and_a_reload() -> None:
    # In arrival order, the squeezed names run out of integers about every 32 (spread again).
    names = [n for pair in zip(squeezed(300), (f"x{i}" for i in range(300)), strict=True)
             for n in pair]
    one, many = OxigraphStore(None), OxigraphStore(None)
    whole = DatasetOrder(one, SUMMARY_GRAPH)
    whole.clear()
    add(whole, names)
    summarised(many, names)  # what a reload reads the names from
    for i in range(0, len(names), 50):
        pieces = DatasetOrder(many, SUMMARY_GRAPH)  # as after a restart: loaded from the store
        add(pieces, names[i:i + 50] + names[:i][-5:])  # and some already labelled again
    assert stored(one) == stored(many)
    assert_sorted_as_names(one, names)


class FailingWrites(OxigraphStore):
    fail = False

    def update(self, sparql: str) -> None:
        if self.fail:
            raise OSError("disk full")
        super().update(sparql)


def test_a_failed_write_changes_nothing_and_the_next_batch_starts_from_the_store() -> None:
    names = squeezed(60)
    store = FailingWrites(None)
    summarised(store, names)
    order = DatasetOrder(store, SUMMARY_GRAPH)
    add(order, names[:20])
    before = stored(store)
    store.fail = True
    with pytest.raises(OSError):
        add(order, names[20:])  # spreads labels already stored again
    assert stored(store) == before
    store.fail = False
    add(order, names[20:])
    assert_sorted_as_names(store, names)


def test_the_summary_labels_new_datasets_and_backfills_a_store_from_before(
        tmp_path: Path) -> None:
    evs = [event(str(uuid.uuid4()), "COMPLETE", "2025-01-01T10:00:00Z", job=f"j{i}")
           for i in range(3)]
    for i, e in enumerate(evs):
        e["inputs"] = [{"namespace": "s3://raw", "name": f"in/{2 - i}"}]
    recs = records(tmp_path, evs)
    store = OxigraphStore(None)
    LineageSummary(store).apply(recs)
    expected = [dataset("s3://gold", "orders").value,
                *(dataset("s3://raw", f"in/{i}").value for i in range(3))]

    def in_order() -> list[str]:
        labels = stored(store)
        return sorted(labels, key=labels.__getitem__)

    assert in_order() == expected
    store.update(f"DELETE WHERE {{ GRAPH <{SUMMARY_GRAPH.value}> {{ "
                 f"?d <{v.NAME_ORDER.value}> ?o }} }}")
    LineageSummary(store).backfill(None)  # type: ignore[arg-type]  # the summary is there
    assert in_order() == expected
