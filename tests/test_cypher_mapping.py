"""The pure record → change mapping of the Cypher view, and the folding of changes."""

from __future__ import annotations

from conftest import example_product

from dpgraph.cypher.embedded import _segments
from dpgraph.cypher.mapping import event_changes, product_changes
from dpgraph.cypher.model import DeleteOwned, NodeUpsert, RelUpsert
from dpgraph.descriptor import ProductDescriptor

RUN = "0190a5a2-3c4e-7b4f-9a51-6f0d2c1e0a01"


def run_event(event_type: str, at: str) -> dict:
    return {"eventType": event_type, "eventTime": at, "run": {"runId": RUN},
            "job": {"namespace": "ns", "name": "job"}, "inputs": [], "outputs": [
                {"namespace": "s3://b", "name": "t", "facets": {"schema": {"fields": [
                    {"name": "a", "type": "struct", "fields": [{"name": "b", "type": "int"}]}]}}}]}


def test_registration_replaces_what_the_product_owns() -> None:
    changes = product_changes(ProductDescriptor.model_validate(
        example_product("sales-orders")), "2026-01-01T00:00:00.000000Z")
    assert changes[0] == DeleteOwned("product:sales-orders")
    owned = [c for c in changes if isinstance(c, NodeUpsert) and c.label != "Job"]
    assert owned and all(c.set["owner"] == "product:sales-orders" for c in owned)
    rels = {(c.type, c.src_id, c.dst_id) for c in changes if isinstance(c, RelUpsert)}
    assert ("IN_DOMAIN", "sales-orders", "sales") in rels
    assert ("HOLDS", "sales-orders/sales-orders-delta/cust_id", "sales-orders/customer_id") in rels
    assert not any(t == "TO_ELEMENT" for t, _, _ in rels)  # drawn by the relink step
    rep = next(c for c in owned if c.id == "sales-orders/sales-orders-delta")
    assert rep.set["normalizedLocation"] == "s3://mesh-sales-gold/sales_orders"


def test_run_state_is_ranked_so_terminal_events_win_in_any_order() -> None:
    start = next(c for c in event_changes(run_event("START", "2026-01-01T10:00:00Z"))
                 if isinstance(c, NodeUpsert) and c.label == "Run")
    done = next(c for c in event_changes(run_event("complete", "2026-01-01T09:00:00Z"))
                if isinstance(c, NodeUpsert) and c.label == "Run")
    assert start.ranked is not None and done.ranked is not None
    assert done.ranked.rank > start.ranked.rank  # even though COMPLETE is earlier here
    assert done.ranked.props == {"state": "COMPLETE", "endedAt": "2026-01-01T09:00:00.000000Z"}
    assert start.earliest == {"startedAt": "2026-01-01T10:00:00.000000Z"}
    for order in ([start, done], [done, start]):
        (folded,) = _segments(order)
        (run,) = folded
        assert isinstance(run, NodeUpsert) and run.ranked == done.ranked
        assert run.earliest == start.earliest
        assert run.latest == {"lastEventTime": "2026-01-01T10:00:00.000000Z"}


def test_nested_fields_are_paths() -> None:
    ids = {c.id for c in event_changes(run_event("START", "2026-01-01T10:00:00Z"))
           if isinstance(c, NodeUpsert) and c.label == "Field"}
    assert ids == {"s3://b:t:a", "s3://b:t:a.b"}


def _owned(node_id: str, owner: str) -> NodeUpsert:
    return NodeUpsert("DataElement", node_id, set={"owner": owner})


def test_a_registration_batch_becomes_its_deletions_then_one_run() -> None:
    a = [DeleteOwned("product:a"), NodeUpsert("Product", "a", set={"name": "A"}),
         _owned("a/x", "product:a"), RelUpsert("HAS_ELEMENT", "Product", "a", "DataElement", "a/x")]
    b = [DeleteOwned("product:b"), _owned("b/y", "product:b")]
    out = _segments(a + b)
    assert out[:2] == [DeleteOwned("product:a"), DeleteOwned("product:b")]
    (run,) = out[2:]
    assert {c.id for c in run if isinstance(c, NodeUpsert)} == {"a", "a/x", "b/y"}


def test_a_deletion_stays_after_what_it_may_remove() -> None:
    # the pending run has a node of the deleted owner: it must be deleted after the upsert
    again = _segments([_owned("a/x", "product:a"), DeleteOwned("product:a"),
                       _owned("a/z", "product:a")])
    assert [type(s) for s in again] == [list, DeleteOwned, list]
    # a relationship to an owned node the run does not upsert may point at a deleted one
    loose = _segments([RelUpsert("HOLDS", "Column", "c/1", "DataElement", "a/x"),
                       DeleteOwned("product:a")])
    assert [type(s) for s in loose] == [list, DeleteOwned]
