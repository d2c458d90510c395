"""dpgraph: knowledge-graph metamodel and lineage store for data products."""
__version__ = "0.1.0"
