// title: Where PII flows
// description: Every data element classified pii, and every lineage dataset field derived from
//   it (column lineage, up to 20 derivations away, starting at the fields that realise the
//   element's columns), with the product whose representation that dataset is, if any. An
//   element that flows nowhere has one row with empty dataset, field and product.
// columns: element, dataset, field, product
MATCH (:Product)-[:HAS_ELEMENT]->(e:DataElement)
WHERE e.classification = 'pii'
OPTIONAL MATCH (e)<-[:HOLDS]-(:Column)<-[:REALISES]-(:Field)<-[:DERIVED_FROM*1..20]-(f:Field)
               <-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)
               <-[:HAS_REPRESENTATION]-(p:Product)
WITH e, ds, f, p, count(*) AS paths
RETURN e.id AS element, ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY element, dataset, field, product
