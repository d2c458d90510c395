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
// One part: each pair's fields and columns are read once, in the pair's own MATCH, and only
// for the pairs whose schema signatures differ (docs/property-graph.md): equal signatures
// mean no row, and a pair without them is compared in full. Kùzu joins nodes matched after a
// WITH by scanning the whole label, so nothing is matched after it: the latest fields and the
// columns are compared as lists. Every registered representation has a column (the product
// shape requires one), so the columns in the MATCH drop no pair. Each field and each column
// is then taken three times (`side`): a field no column names is added, a column no field
// names is removed, a same-name column and field whose types differ are retyped. Kùzu 0.11
// has no list comprehension, hence UNWIND over the lists. A pair written by several jobs
// gives each field once per job, hence DISTINCT. A column's map has an empty `at` only so
// that both lists have one element type (the CASEs below pick either). Names and types are
// lowercased once, as they are collected (`k`, `t`): Kùzu's toLower in the comparisons
// cost ~110 ms at 10,000 products. A field without facts (no type reported) has a null `at`,
// never the latest, so `f.at = latest` drops it: a WHERE on the MATCH testing factsAt made
// Kùzu read that property of every field of the graph (~90 ms at 10,000 products). At 2,000
// products: 126 ms as two UNION parts (each matching the columns after a WITH), 77 ms so;
// at 10,000, 344 / 375 ms (p50 / p95) before the lowercasing and that WHERE's removal,
// 125-138 / 131-151 ms since.
MATCH (:Job)-[:WRITES]->(ds:Dataset)-[:REPRESENTS]->(r:Representation),
      (ds)-[:HAS_FIELD]->(f:Field), (r)-[:HAS_COLUMN]->(c:`Column`)
WHERE (r.columnsSig IS NULL OR ds.schemaHi IS NULL OR right(ds.schemaHi, 32) <> r.columnsSig
       OR right(ds.schemaLo, 32) <> r.columnsSigLow)
WITH r, ds, max(left(f.factsAt, 27)) AS latest,
     collect(DISTINCT {name: f.name, type: f.type, k: toLower(f.name), t: toLower(f.type),
                       at: left(f.factsAt, 27)}) AS fields,
     collect(DISTINCT {name: c.name, type: c.type, k: toLower(c.name), t: toLower(c.type),
                       at: ''}) AS columns
UNWIND fields AS f
WITH r, ds, columns, latest, f
WHERE f.at = latest AND NOT f.name CONTAINS '.'
WITH r, ds, columns, collect(f) AS current
UNWIND [1, 2, 3] AS side
UNWIND CASE side WHEN 2 THEN columns ELSE current END AS x
UNWIND CASE side WHEN 3 THEN columns ELSE [x] END AS y
WITH r, ds, side, x, y,
     CASE
       WHEN side = 1 AND none(col IN columns WHERE col.k = x.k)
            THEN 'added'
       WHEN side = 2 AND none(fld IN current WHERE fld.k = x.k)
            THEN 'removed'
       WHEN side = 3 AND y.k = x.k AND y.t <> x.t THEN 'retyped'
     END AS change
WHERE change IS NOT NULL
RETURN r.id AS representation, ds.id AS dataset, change,
       CASE WHEN side = 3 THEN y.name ELSE x.name END AS column_name,
       CASE WHEN side = 1 THEN CASE WHEN false THEN x.type END
            WHEN side = 2 THEN x.type ELSE y.type END AS registered_type,
       CASE WHEN side = 2 THEN CASE WHEN false THEN x.type END ELSE x.type END AS observed_type
ORDER BY representation, dataset, change, column_name
