// title: Shadow data: lineage datasets that belong to no product
// description: Datasets seen in lineage whose location (or the location of a symlink alias of
//   them) is no registered representation's: data that flows through the mesh outside any
//   product.
// param: limit (integer, 1000) the most rows to return
// columns: dataset, namespace, name
MATCH (ds:Dataset)
OPTIONAL MATCH (ds)-[:REPRESENTS]->(r:Representation)
WITH ds, count(r) AS representations
WHERE representations = 0
RETURN ds.id AS dataset, ds.namespace AS namespace, ds.name AS name
ORDER BY dataset
LIMIT $limit
