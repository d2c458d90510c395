// title: Upstream lineage of a product
// description: Every lineage dataset field the product's data is derived from (column lineage,
//   up to 20 derivations away, starting at the fields of the datasets that materialise the
//   product's representations), with the product whose representation that dataset is, if any.
// param: product (string) id of the product
// columns: dataset, field, product
MATCH (:Product {id: $product})-[:HAS_REPRESENTATION]->(:Representation)
      <-[:REPRESENTS]-(start:Dataset)
MATCH (start)-[:HAS_FIELD]->(:Field)-[:DERIVED_FROM*1..20]->(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)
               <-[:HAS_REPRESENTATION]-(p:Product)
WITH ds, f, p, count(*) AS paths
RETURN ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY dataset, field, product
