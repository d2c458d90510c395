"""The property-graph (Cypher) view of the knowledge graph: see docs/property-graph.md."""
