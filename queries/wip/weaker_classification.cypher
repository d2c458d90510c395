// title: Elements registered weaker than the classification flowing into them
// description: A data element whose registered classification ranks lower than that of an
//   element upstream of its column along column lineage, as the weaker-classification
//   findings decide: the column of a representation holding the element is realised by a
//   field of a lineage dataset at its location (or a symlink alias's), and that field derives,
//   over 1 to 5 derivations, from a field realising a column of a classified element. Every
//   derivation on the way must carry the label: DIRECT IDENTITY, TRANSFORMATION or
//   AGGREGATION (or DIRECT without subtype), not flagged masking; a field pair listed without
//   transformations carries it too; INDIRECT ones and the deprecated MASKED type do not. The
//   in-memory findings follow paths of any length and cross symlink aliases midway; this query
//   stops at 5 derivations. Cypher sees one DERIVED_FROM per field pair with its types and
//   subtypes joined and masking if any masks, and not the deprecated field-level type: for a
//   pair with one transformation it decides the same, with several it may differ, and a
//   MASKED 1-0 derivation counts as unreported (carrying). Retired products are left out.
// columns: element, representation, column_name, registered, flowing, source
MATCH (p:Product)-[:HAS_ELEMENT]->(e:DataElement)-[:CLASSIFIED_AS]->(own:Classification)
WHERE p.lifecycle IS NULL OR p.lifecycle <> 'retired'
MATCH (p)-[:HAS_REPRESENTATION]->(r:Representation)-[:HAS_COLUMN]->(c:`Column`)-[:HOLDS]->(e)
MATCH path = (c)<-[:REALISES]-(:Field)-[:DERIVED_FROM*1..5]->(:Field)-[:REALISES]->(:`Column`)
             -[:HOLDS]->(s:DataElement)-[:CLASSIFIED_AS]->(strong:Classification)
WHERE strong.rank > own.rank
  AND size([h IN relationships(path) WHERE type(h) = 'DERIVED_FROM' AND NOT (
        NOT coalesce(h.masking, false)
        AND (h.transformationType IS NULL
             OR ((h.transformationType = 'DIRECT' OR h.transformationType STARTS WITH 'DIRECT,')
                 AND (h.transformationSubtype IS NULL
                      OR h.transformationSubtype CONTAINS 'IDENTITY'
                      OR h.transformationSubtype CONTAINS 'TRANSFORMATION'
                      OR h.transformationSubtype CONTAINS 'AGGREGATION'))))]) = 0
WITH DISTINCT e, r, c, own, strong, s
RETURN e.id AS element, r.id AS representation, c.name AS column_name,
       own.id AS registered, strong.id AS flowing, s.id AS source
ORDER BY element, representation, column_name, flowing, source
