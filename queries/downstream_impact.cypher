// title: Downstream impact of a dataset or column
// description: Every lineage dataset field derived from the dataset's fields (or from one
//   field of it), up to 20 derivations away by column lineage, with the product whose
//   representation that dataset is, if any.
// param: namespace (string) OpenLineage namespace of the dataset (s3://bucket, postgres://host:5432)
// param: name (string) name of the dataset within its namespace
// param: field (string, "") one field of the dataset; empty for all its fields
// columns: dataset, field, product
MATCH (:Dataset {namespace: $namespace, name: $name})-[:HAS_FIELD]->(source:Field)
WHERE $field = '' OR source.name = $field
// The walk starts from these fields (see upstream_lineage.cypher).
WITH DISTINCT source
MATCH (source)<-[:DERIVED_FROM*1..20]-(f:Field)<-[:HAS_FIELD]-(ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(:Representation)
               <-[:HAS_REPRESENTATION]-(p:Product)
WITH DISTINCT ds, f, p
RETURN ds.id AS dataset, f.name AS field, p.id AS product
ORDER BY dataset, field, product
