"""Descriptor → RDF is a pure function; RDF input reads back to the same descriptor."""

from __future__ import annotations

import rdflib
from conftest import example_product
from pyoxigraph import BlankNode, NamedNode, RdfFormat, serialize
from rdflib.compare import to_isomorphic

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.descriptor import ProductDescriptor
from dpgraph.mapping.from_rdf import product_from_rdf
from dpgraph.mapping.product import product_to_rdf


def _descriptor(product_id: str) -> ProductDescriptor:
    return ProductDescriptor.model_validate(example_product(product_id))


def _rdflib(triples) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(data=serialize(triples, format=RdfFormat.N_TRIPLES), format="nt")
    return g


def test_mapping_is_deterministic_and_has_no_blank_nodes() -> None:
    first = product_to_rdf(_descriptor("sales-orders"))
    second = product_to_rdf(_descriptor("sales-orders"))
    assert first.triples == second.triples
    assert all(isinstance(t.subject, NamedNode) and t.subject.value.startswith(v.ID_NS)
               for t in first.triples)
    assert not any(isinstance(t.object, BlankNode) for t in first.triples)


def test_product_is_typed_for_dpgraph_and_dprod_users() -> None:
    triples = set(product_to_rdf(_descriptor("customer-profile")).triples)
    product = iris.product("customer-profile")
    types = {t.object for t in triples if t.subject == product and t.predicate == v.RDF_TYPE}
    assert types == {v.DATA_PRODUCT, v.DPROD_DATA_PRODUCT}
    owners = {t.object for t in triples if t.predicate == v.DPROD_OWNER}
    assert owners == {iris.reference("owner", "team-customer-data")}


def test_every_attribute_maps_to_an_element_of_the_same_product() -> None:
    d = _descriptor("finance-invoices")
    mapped = product_to_rdf(d)
    targets = {t.object.value for t in mapped.triples if t.predicate == v.MAPS_TO_ELEMENT}
    assert targets == {iris.element(d.id, e.name).value for e in d.elements}


def test_field_paths_point_back_into_the_descriptor() -> None:
    d = _descriptor("sales-orders")
    paths = product_to_rdf(d).field_paths
    rep = d.representations[1]
    assert paths[iris.representation(d.id, rep.id).value] == "representations[1]"
    column = rep.attributes[2].name
    assert paths[iris.attribute(d.id, rep.id, column).value] == "representations[1].attributes[2]"


def test_turtle_round_trip_gives_the_same_descriptor_and_an_isomorphic_graph() -> None:
    for product_id in ("customer-profile", "sales-orders", "finance-invoices"):
        d = _descriptor(product_id)
        triples = product_to_rdf(d).triples
        for fmt, media in ((RdfFormat.TURTLE, "text/turtle"),
                           (RdfFormat.JSON_LD, "application/ld+json")):
            body = serialize(triples, format=fmt, prefixes=v.PREFIXES)
            back = product_from_rdf(body, media)
            again = product_to_rdf(back).triples
            assert to_isomorphic(_rdflib(again)) == to_isomorphic(_rdflib(triples))


def test_rdf_with_own_blank_nodes_is_read_by_identifier() -> None:
    turtle = f"""
        @prefix dpg: <{v.DPG_NS}> . @prefix dct: <{v.DCT_NS}> . @prefix dprod: <{v.DPROD_NS}> .
        <https://example.org/p> a dpg:DataProduct ; dct:identifier "rdf-native" ;
            dct:title "RDF native product" ;
            dprod:domain <{iris.reference('domain', 'sales').value}> ;
            dpg:hasDataElement [ dct:identifier "order_id" ;
                dpg:businessTerm <{iris.reference('term', 'order-identifier').value}> ;
                dpg:classification dpg:InternalData ] ;
            dpg:hasRepresentation [ dct:identifier "gold" ; dpg:location "s3://b/orders" ;
                dpg:storageLayer dpg:Gold ;
                dpg:hasAttribute [ dpg:columnName "ORDER_ID" ; dpg:dataType "string" ;
                                   dpg:mapsToElement [ dct:identifier "order_id" ] ] ] .
    """
    d = product_from_rdf(turtle.encode(), "text/turtle")
    assert d.id == "rdf-native" and d.domain == "sales"
    assert [(e.name, e.businessTerm, e.classification) for e in d.elements] == [
        ("order_id", "order-identifier", "internal")]
    (rep,) = d.representations
    assert (rep.storageLayer, rep.attributes[0].element) == ("gold", "order_id")


def test_only_products_state_their_identifier_with_product_identifier() -> None:
    d = _descriptor("customer-profile")
    triples = product_to_rdf(d).triples
    stated = {(t.subject, t.object.value) for t in triples if t.predicate == v.PRODUCT_IDENTIFIER}
    assert stated == {(iris.product("customer-profile"), "customer-profile")}
    # dct:identifier stays on the product (DPROD and DCAT readers look for it) and on the
    # other nodes of the graph.
    identified = {t.subject for t in triples if t.predicate == v.DCT_IDENTIFIER}
    assert iris.product("customer-profile") in identified
    assert iris.element(d.id, d.elements[0].name) in identified
