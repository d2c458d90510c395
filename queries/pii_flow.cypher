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
// query's 265-300 ms. The link carries its field's dataset id and name: joining the Field
// and Dataset nodes made Kùzu scan their tables (188 -> 113 ms at 10,000 products, same
// rows). The SPARQL version still walks, so the test that compares both languages' rows
// also checks the kept links against a walk. DISTINCT: a dataset may represent several
// representations of one product.
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
OPTIONAL MATCH (e)-[r:FLOWS_TO]->(:Field)
WITH e.id AS element, r.dataset AS dataset, r.field AS field
OPTIONAL MATCH (ds:Dataset)-[:REPRESENTS]->(:Representation)<-[:HAS_REPRESENTATION]-(p:Product)
WHERE ds.id = dataset
RETURN DISTINCT element, dataset, field, p.id AS product
ORDER BY element, dataset, field, product
