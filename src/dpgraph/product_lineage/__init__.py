"""Product-level lineage: which product feeds which, across which domains, and the principle
findings that follow from it. Pure computations over plain facts (:mod:`.model`); the
follower that keeps those facts up to date is :mod:`dpgraph.services.product_lineage_index`.
"""
