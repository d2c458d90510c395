"""Governance findings derived from the graph's projections (see :mod:`.model`)."""
