// title: Products without quality rules
// description: Products whose registration declares no quality rule, with domain and owner.
// columns: product, domain, owner
MATCH (p:Product)-[:IN_DOMAIN]->(d:Domain)
OPTIONAL MATCH (p)-[:HAS_QUALITY_RULE]->(q:QualityRule)
WITH p, d, count(q) AS rules
WHERE rules = 0
OPTIONAL MATCH (p)-[:OWNED_BY]->(o:Owner)
RETURN p.id AS product, d.id AS domain, o.id AS owner
ORDER BY product
