"""OpenLineage lineage: receiving, validating and projecting events."""
