// title: Schema drift: registered columns against the latest observed schema
// description: Per product representation linked to a lineage dataset some job writes (its
//   normalised location, or a symlink alias's, is the representation's): the registered
//   columns absent from the dataset's latest schema (removed), the fields of that schema not
//   registered (added), and same-name columns whose types differ (retyped). Names match
//   case-insensitively. The latest schema is the typed top-level fields reported by the
//   latest event (by eventTime) that reported a typed field of the dataset, from a schema
//   facet on any side (input, output or dataset event); a field reported without a type is
//   not seen, as the property-graph view dates only typed fields. Types are compared as
//   written, case-insensitively, where GET /api/v1/products/{id}/drift normalises them with
//   sqlglot: varchar vs string or int vs integer is retyped here and not there; a column
//   registered without a type is not compared. In Cypher a top-level field whose name holds
//   a dot is taken as nested.
// columns: representation, dataset, change, column_name, registered_type, observed_type
MATCH (r:Representation)<-[:REPRESENTS]-(ds:Dataset)<-[:WRITES]-(:Job)
WITH DISTINCT r, ds
MATCH (ds)-[:HAS_FIELD]->(f:Field)
WHERE f.factsAt IS NOT NULL
WITH r, ds, max(left(f.factsAt, 27)) AS latest
MATCH (ds)-[:HAS_FIELD]->(f:Field)
WHERE left(f.factsAt, 27) = latest AND NOT f.name CONTAINS '.'
WITH r, ds, latest, collect(toLower(f.name)) AS seen
OPTIONAL MATCH (r)-[:HAS_COLUMN]->(c:`Column`)
WITH r, ds, latest, seen, collect(toLower(c.name)) AS registered
UNWIND seen + registered AS key
WITH DISTINCT r, ds, latest, key
OPTIONAL MATCH (r)-[:HAS_COLUMN]->(c:`Column`)
WHERE toLower(c.name) = key
OPTIONAL MATCH (ds)-[:HAS_FIELD]->(f:Field)
WHERE toLower(f.name) = key AND left(f.factsAt, 27) = latest AND NOT f.name CONTAINS '.'
WITH r, ds, c, f,
     CASE WHEN f IS NULL THEN 'removed'
          WHEN c IS NULL THEN 'added'
          WHEN toLower(c.type) <> toLower(f.type) THEN 'retyped' END AS change
WHERE change IS NOT NULL
RETURN r.id AS representation, ds.id AS dataset, change,
       CASE WHEN c IS NULL THEN f.name ELSE c.name END AS column_name,
       c.type AS registered_type, f.type AS observed_type
ORDER BY representation, dataset, change, column_name
