// title: Where PII flows
// description: Every data element classified pii, and every lineage dataset field derived from
//   it (column lineage, up to 20 derivations away, starting at the fields that realise the
//   element's columns), with the product whose representation that dataset is, if any. An
//   element that flows nowhere has one row with empty dataset, field and product.
// columns: element, dataset, field, product
//
// One part. The walk starts from the distinct (element, source field) rows passed on through
// WITH: Kùzu then walks from those fields only, where one MATCH from the element to the
// derived fields walks from every field of the graph (>20 s at 10,000 products, see README
// "Named governance queries"). Collecting the source fields as nodes and unwinding them
// also bounds the walk, but copies every property of each field: 118 ms against 88 ms at
// 2,000 products. The source fields are an OPTIONAL MATCH, so an element that flows nowhere
// keeps one row, with no field to walk from and nulls after it; every field belongs to a
// dataset, so a walk that starts always ends at one. At 10,000 products: 317 / 331 ms
// (p50 / p95) as two UNION parts (the flowing elements, then those without a derivation),
// 265-271 / 285-302 ms so, of which ~120 ms is the walk from 2,856 source fields (~40 µs each,
// most of them one derivation deep). The service sorts the rows.
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
OPTIONAL MATCH (e)<-[:HOLDS]-(:`Column`)<-[:REALISES]-(s:Field)<-[:DERIVED_FROM]-(:Field)
WITH DISTINCT e, s
OPTIONAL MATCH (s)<-[:DERIVED_FROM*1..20]-(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)<-[:HAS_REPRESENTATION]-(p:Product)
WITH e, ds, f, p, count(*) AS paths
RETURN e.id AS element, ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY element, dataset, field, product
