// title: Upstream lineage of a product
// description: Every lineage dataset field the product's data is derived from (column lineage,
//   up to 20 derivations away, starting at the fields of the datasets that materialise the
//   product's representations), with the product whose representation that dataset is, if any.
// param: product (string) id of the product
// columns: dataset, field, product
MATCH (:Product {id: $product})-[:HAS_REPRESENTATION]->(:Representation)
      <-[:REPRESENTS]-(:Dataset)-[:HAS_FIELD]->(start:Field)
// The walk starts from these fields: without the WITH, Kùzu may plan the variable-length
// join from every field of the graph (60x slower on the bench mesh).
WITH DISTINCT start
MATCH (start)-[:DERIVED_FROM*1..20]->(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)
               <-[:HAS_REPRESENTATION]-(p:Product)
WITH DISTINCT ds, f, p
RETURN ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY dataset, field, product
