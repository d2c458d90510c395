// title: Cross-domain dependency matrix
// description: Per pair of domains, how many (consumer product, source product) pairs there are
//   where a lineage job the consumer declares reads a dataset that materialises a
//   representation of a source product of the other domain.
// columns: consumer_domain, source_domain, dependencies
MATCH (cd:Domain)<-[:IN_DOMAIN]-(c:Product)-[:PRODUCED_BY]->(:Job)-[:READS]->(ds:Dataset)
MATCH (ds)-[:REPRESENTS]->(:Representation)
      <-[:HAS_REPRESENTATION]-(s:Product)-[:IN_DOMAIN]->(sd:Domain)
WHERE sd.id <> cd.id
WITH cd, sd, c, s, count(*) AS paths
WITH cd.id AS consumer_domain, sd.id AS source_domain, count(*) AS dependencies
RETURN consumer_domain, source_domain, dependencies
ORDER BY consumer_domain, source_domain
