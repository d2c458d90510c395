// title: Products with an inactive owner or an expired contract
// description: One row per product and reason: its owner is marked inactive in the catalog
//   (inactive-owner), or its contract's validUntil date lies before the day of now
//   (expired-contract).
// param: now (datetime, now) the moment the question is asked about (UTC)
// columns: product, reason, owner, valid_until
MATCH (p:Product)-[:OWNED_BY]->(o:Owner)
UNWIND ['inactive-owner', 'expired-contract'] AS reason
WITH p, o, reason
WHERE (reason = 'inactive-owner' AND o.active = false)
   OR (reason = 'expired-contract' AND p.contractValidUntil + 'T23:59:59.999999Z' < $now)
RETURN p.id AS product, reason, o.id AS owner, p.contractValidUntil AS valid_until
ORDER BY product, reason
