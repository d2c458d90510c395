// title: Where PII flows
// description: Every data element classified pii, and every lineage dataset field derived from
//   it (column lineage, through any number of derivations, starting at the fields that
//   realise the element's columns), with the product whose representation that dataset is,
//   if any. An element that flows nowhere has one row with empty dataset, field and product.
// columns: element, dataset, field, product
//
// Two parts. The walk starts from the distinct (element, source field) rows the first MATCH
// passes on through WITH: Kùzu then walks from those fields only, where one MATCH from the
// element to the derived fields walks from every field of the graph (>20 s at 10,000
// products, see README "Named governance queries"). Collecting the source fields as nodes and
// unwinding them also bounds the walk, but copies every property of each field: 118 ms
// against 88 ms at 2,000 products. Elements that flow nowhere are the second part.
// openCypher orders only the last part of a UNION, so the service sorts the rows. It walks
// DERIVED_FROM where queries/pii_flow.cypher reads the FLOWS_TO links the view keeps: the
// test asserts the same rows from both.
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
MATCH (e)<-[:HOLDS]-(:`Column`)<-[:REALISES]-(s:Field)<-[:DERIVED_FROM]-(:Field)
WITH DISTINCT e, s
MATCH (s)<-[:DERIVED_FROM*1..20]-(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)
               <-[:HAS_REPRESENTATION]-(p:Product)
WITH e, ds, f, p, count(*) AS paths
RETURN e.id AS element, ds.id AS dataset, f.name AS field, p.id AS product
UNION ALL
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
OPTIONAL MATCH (e)<-[:HOLDS]-(:`Column`)<-[:REALISES]-(:Field)<-[d:DERIVED_FROM]-(:Field)
WITH e, count(d) AS derivations
WHERE derivations = 0
// A typed null: Kùzu's UNION needs the same column types in both parts.
RETURN e.id AS element, CASE WHEN false THEN e.id END AS dataset,
       CASE WHEN false THEN e.id END AS field, CASE WHEN false THEN e.id END AS product
ORDER BY element, dataset, field, product
