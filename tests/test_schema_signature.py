"""Schema signatures (dpgraph.cypher.schema_signature): the hashes schema_drift compares
before it reads any field, and how the mapping stores them."""

from __future__ import annotations

from conftest import example_product

from dpgraph.cypher.mapping import event_changes, product_changes
from dpgraph.cypher.model import NodeUpsert
from dpgraph.cypher.schema_signature import (
    AMBIGUOUS,
    complement,
    schema_properties,
    signature,
)
from dpgraph.descriptor import ProductDescriptor

AT = "2026-01-01T10:00:00.000000Z"


def test_names_and_types_compare_case_insensitively_and_in_any_order() -> None:
    assert signature([("ID", "BIGINT"), ("name", "String")]) == \
        signature([("name", "string"), ("id", "bigint")])
    assert signature([("id", "bigint")]) != signature([("id", "int")])
    assert signature([("id", "bigint")]) != signature([("id", "bigint"), ("x", "int")])
    assert len(signature([]) or "") == 32


def test_what_a_hash_cannot_compare_safely_has_none() -> None:
    assert signature([("id", None)]) is None  # an untyped column is not compared
    assert signature([("id", "int"), ("ID", "int")]) is None  # two fields match one column
    assert signature([("id", "int"), ("id", "string")]) is None  # one field, two types
    assert signature([("straße", "string")]) is None  # lowercase may differ across engines
    assert signature([("id", "int"), ("id", "int")]) == signature([("id", "int")])


def test_the_complement_reverses_the_order_of_hashes() -> None:
    a, b = signature([("a", "int")]), signature([("b", "int")])
    assert a is not None and b is not None and a != b
    assert (a < b) == (complement(a) > complement(b))
    assert complement(complement(a)) == a
    assert complement(AMBIGUOUS) == AMBIGUOUS and max(a, complement(a)) < AMBIGUOUS


def test_a_dataset_signs_the_typed_top_level_fields_of_its_event() -> None:
    props = schema_properties(AT, [("a", "struct"), ("a.b", "int")])
    sig = signature([("a", "struct")])
    assert sig is not None
    assert props == {"schemaHi": f"{AT}|{sig}", "schemaLo": f"{AT}|{complement(sig)}"}
    assert schema_properties(AT, [("a", "int"), ("A", "int")]) == {
        "schemaHi": f"{AT}|{AMBIGUOUS}", "schemaLo": f"{AT}|{AMBIGUOUS}"}


def test_an_event_signs_each_dataset_once_with_the_fields_of_every_side() -> None:
    ds = {"namespace": "s3://b", "name": "t"}
    event = {"eventType": "COMPLETE", "eventTime": "2026-01-01T10:00:00Z",
             "run": {"runId": "0190a5a2-3c4e-7b4f-9a51-6f0d2c1e0a01"},
             "job": {"namespace": "ns", "name": "job"},
             "inputs": [{**ds, "facets": {"schema": {"fields": [{"name": "a", "type": "int"},
                                                                 {"name": "untyped"}]}}}],
             "outputs": [{**ds, "facets": {"schema": {"fields": [{"name": "b", "type": "x"}]}}},
                         {"namespace": "s3://b", "name": "no_schema"}]}
    signed = [c for c in event_changes(event)
              if isinstance(c, NodeUpsert) and c.label == "Dataset" and c.latest]
    assert signed == [NodeUpsert("Dataset", "s3://b:t", latest=schema_properties(
        AT, [("a", "int"), ("b", "x")]))]


def test_a_representation_signs_its_columns() -> None:
    changes = product_changes(ProductDescriptor.model_validate(
        example_product("customer-profile")), AT)
    rep = next(c for c in changes if isinstance(c, NodeUpsert)
               and c.id == "customer-profile/customer-profile-delta")
    sig = signature([("customer_id", "string"), ("given_name", "string"),
                     ("family_name", "string"), ("email_address", "string"),
                     ("phone_e164", "string"), ("date_of_birth", "date"),
                     ("postal_code", "string"), ("country_code", "string"),
                     ("segment", "string"), ("loyalty_tier", "string"),
                     ("registered_on", "date")])
    assert sig is not None
    assert (rep.set["columnsSig"], rep.set["columnsSigLow"]) == (sig, complement(sig))
