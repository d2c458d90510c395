// title: Where PII flows
// description: Every data element classified pii, and every lineage dataset field derived from
//   it (column lineage, through any number of derivations, starting at the fields that
//   realise the element's columns), with the product whose representation that dataset is,
//   if any. An element that flows nowhere has one row with empty dataset, field and product.
// columns: element, dataset, field, product
//
// Reads FLOWS_TO, the fields each element reaches, which the view keeps
// (docs/property-graph.md; src/dpgraph/cypher/relink.py): walking DERIVED_FROM here from the
// 2,856 PII source fields of the 10,000-product mesh cost Kùzu ~40 µs a start, ~120 of the
// query's 265-300 ms. The SPARQL version still walks, so the test that compares both
// languages' rows also checks the kept links against a walk. DISTINCT: a dataset may
// represent several representations of one product.
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
OPTIONAL MATCH (e)-[:FLOWS_TO]->(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)<-[:HAS_REPRESENTATION]-(p:Product)
RETURN DISTINCT e.id AS element, ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY element, dataset, field, product
