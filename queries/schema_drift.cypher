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
//
// Two parts: fields of the latest schema against the registered columns (added, retyped),
// then registered columns against the latest schema's names (removed). Each reads the fields
// once, as maps, and only of the pairs whose schema signatures differ (docs/property-graph.md):
// equal signatures mean no row, and a pair without them is compared in full. The fields are
// matched in the same MATCH as the pair: after a WITH, Kùzu joins them by scanning every field
// of the graph (at 10,000 products with 2% drifting: 1.5 s as before the signatures, 1.3 s
// without them in one MATCH, 0.47 s with both). A pair written by several jobs gives each
// field once per job, hence DISTINCT. openCypher orders only the last part of a UNION, so the
// service sorts the rows.
MATCH (:Job)-[:WRITES]->(ds:Dataset)-[:REPRESENTS]->(r:Representation),
      (ds)-[:HAS_FIELD]->(f:Field)
WHERE (r.columnsSig IS NULL OR ds.schemaHi IS NULL OR right(ds.schemaHi, 32) <> r.columnsSig
       OR right(ds.schemaLo, 32) <> r.columnsSigLow)
      AND f.factsAt IS NOT NULL
WITH r, ds, max(left(f.factsAt, 27)) AS latest,
     collect(DISTINCT {name: f.name, type: f.type, at: left(f.factsAt, 27)}) AS fields
UNWIND fields AS f
WITH r, ds, latest, f
WHERE f.at = latest AND NOT f.name CONTAINS '.'
OPTIONAL MATCH (r)-[:HAS_COLUMN]->(c:`Column`)
WHERE toLower(c.name) = toLower(f.name)
WITH r, ds, c, f,
     CASE WHEN c IS NULL THEN 'added'
          WHEN toLower(c.type) <> toLower(f.type) THEN 'retyped' END AS change
WHERE change IS NOT NULL
RETURN r.id AS representation, ds.id AS dataset, change,
       CASE WHEN c IS NULL THEN f.name ELSE c.name END AS column_name,
       c.type AS registered_type, f.type AS observed_type
UNION ALL
MATCH (:Job)-[:WRITES]->(ds:Dataset)-[:REPRESENTS]->(r:Representation),
      (ds)-[:HAS_FIELD]->(f:Field)
WHERE (r.columnsSig IS NULL OR ds.schemaHi IS NULL OR right(ds.schemaHi, 32) <> r.columnsSig
       OR right(ds.schemaLo, 32) <> r.columnsSigLow)
      AND f.factsAt IS NOT NULL
WITH r, ds, max(left(f.factsAt, 27)) AS latest,
     collect(DISTINCT {name: f.name, at: left(f.factsAt, 27)}) AS fields
UNWIND fields AS f
WITH r, ds, latest, f
WHERE f.at = latest AND NOT f.name CONTAINS '.'
WITH r, ds, collect(toLower(f.name)) AS seen
MATCH (r)-[:HAS_COLUMN]->(c:`Column`)
WHERE NOT toLower(c.name) IN seen
RETURN r.id AS representation, ds.id AS dataset, 'removed' AS change, c.name AS column_name,
       c.type AS registered_type, CASE WHEN false THEN c.name END AS observed_type
ORDER BY representation, dataset, change, column_name
