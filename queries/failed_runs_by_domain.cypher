// title: Failed runs per domain in the last hours
// description: Per domain, the runs of lineage jobs its products declare whose state is FAIL
//   (their latest terminal event is a FAIL) and that ended between now minus hours and now,
//   with the end of the latest of them.
// param: now (datetime, now) the moment the question is asked about (UTC)
// param: hours (integer, 24) the window, in hours before now
// let: since = now - hours hours
// columns: domain, failed_runs, last_failure
MATCH (d:Domain)<-[:IN_DOMAIN]-(:Product)-[:PRODUCED_BY]->(:Job)<-[:OF_JOB]-(r:Run)
WHERE r.state = 'FAIL' AND r.endedAt >= $since AND r.endedAt <= $now
WITH d, r, count(*) AS paths
WITH d.id AS domain, count(r) AS failed_runs, max(r.endedAt) AS last_failure
RETURN domain, failed_runs, last_failure
ORDER BY domain
