// title: Products reading another domain's raw (bronze) data
// description: Products whose declared lineage jobs read a dataset that materialises a bronze
//   representation of a product of another domain (principle 2: raw data stays in its domain).
// columns: product, domain, source_product, source_domain, dataset
MATCH (d:Domain)<-[:IN_DOMAIN]-(p:Product)-[:PRODUCED_BY]->(:Job)-[:READS]->(ds:Dataset)
MATCH (ds)-[:REPRESENTS]->(:Representation {layer: 'bronze'})
      <-[:HAS_REPRESENTATION]-(s:Product)-[:IN_DOMAIN]->(sd:Domain)
WHERE sd.id <> d.id
WITH p, d, s, sd, ds, count(*) AS paths
RETURN p.id AS product, d.id AS domain, s.id AS source_product, sd.id AS source_domain,
       ds.id AS dataset
ORDER BY product, source_product, dataset
