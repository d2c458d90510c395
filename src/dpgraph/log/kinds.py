"""The kinds of log record. Apart from the projector so that the ingest front, which appends
lineage events, does not import the projection (pyoxigraph, the mappings)."""

PRODUCT_REGISTERED = "product.registered"
PRODUCT_DEPRECATED = "product.deprecated"
CATALOG_REGISTERED = "catalog.registered"
LINEAGE_EVENT = "lineage.event"
