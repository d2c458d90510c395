// title: Products with no successful run in N days
// description: Products that declare lineage jobs but none of whose runs ended COMPLETE (a
//   run's state is that of its latest terminal event) at or after now minus days, with the
//   end of the last successful run if there ever was one.
// param: now (datetime, now) the moment the question is asked about (UTC)
// param: days (integer, 7) how many days back a successful run counts
// let: since = now - days days
// columns: product, last_success
MATCH (p:Product)-[:PRODUCED_BY]->(j:Job)
OPTIONAL MATCH (j)<-[:OF_JOB]-(r:Run)
WHERE r.state = 'COMPLETE'
WITH p, max(r.endedAt) AS last_success
WHERE last_success IS NULL OR last_success < $since
RETURN p.id AS product, last_success
ORDER BY product
