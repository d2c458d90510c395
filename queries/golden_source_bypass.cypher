// title: Products reading data that lands from another application than their golden source
// description: Products whose declared lineage jobs read a dataset in a namespace where a
//   catalog application other than the product's golden-source application lands its data
//   (the application's lineage.namespaces in the catalog; principle 1: capture directly from
//   the golden source). The golden-source-bypass finding of GET /api/v1/findings also walks
//   through unowned intermediate datasets and matches dataset locations.
// columns: product, golden_source, application, job, dataset
MATCH (g:Application)<-[:GOLDEN_SOURCE]-(p:Product)-[:PRODUCED_BY]->(j:Job)-[:READS]->(ds:Dataset)
MATCH (ds)-[:IN_NAMESPACE]->(:Namespace)<-[:LANDS_IN]-(a:Application)
WHERE a.id <> g.id
WITH p, g, a, j, ds, count(*) AS paths
RETURN p.id AS product, g.id AS golden_source, a.id AS application, j.id AS job,
       ds.id AS dataset
ORDER BY product, application, dataset
