// title: Products per domain with their owner
// description: Every registered product with its domain, name, owner and lifecycle status.
// columns: domain, product, name, owner, lifecycle
MATCH (p:Product)-[:IN_DOMAIN]->(d:Domain)
OPTIONAL MATCH (p)-[:OWNED_BY]->(o:Owner)
RETURN d.id AS domain, p.id AS product, p.name AS name, o.id AS owner,
       p.lifecycle AS lifecycle
ORDER BY domain, product
