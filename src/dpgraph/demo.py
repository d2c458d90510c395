"""Load the example mesh (examples/) through the normal write path."""

from __future__ import annotations

import logging
from graphlib import TopologicalSorter
from pathlib import Path

import yaml

from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.services.lineage import LineageReceiver
from dpgraph.services.registry import Registry

log = logging.getLogger("dpgraph.demo")
LINEAGE_FOLDERS = ("lineage", "lineage-dbt")


def demo_products(directory: Path) -> list[ProductDescriptor]:
    """The example products, ordered so that join-key targets are registered first."""
    products = {}
    for path in sorted(directory.glob("*.yaml")):
        d = ProductDescriptor.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        products[d.id] = d
    graph = {pid: {k.references.product for k in d.joinKeys if k.references.product != pid}
             for pid, d in products.items()}
    return [products[pid] for pid in TopologicalSorter(graph).static_order() if pid in products]


def demo_lineage_files(root: Path) -> list[Path]:
    """The demo's lineage events in the order they are posted: hand-written, then recorded."""
    return [path for folder in LINEAGE_FOLDERS for path in sorted((root / folder).glob("*.json"))]


def load_demo(registry: Registry, root: Path, lineage: LineageReceiver | None = None) -> int:
    """Register the demo catalog and products, then post the lineage events of
    ``examples/lineage`` (hand-written) and ``examples/lineage-dbt`` (recorded from dbt-ol by
    ``scripts/record_demo_lineage.py``) through the receiver; what is already there is left
    unchanged (a re-posted event is a duplicate, stored once)."""
    catalog = CatalogDescriptor.model_validate(
        yaml.safe_load((root / "catalog.yaml").read_text(encoding="utf-8")))
    registry.register_catalog(catalog)
    products = demo_products(root / "products")
    for d in products:
        registry.register_product(d)
    events = demo_lineage_files(root) if lineage is not None else []
    for path in events:
        lineage.receive(path.read_bytes())  # type: ignore[union-attr]
    log.info("demo mesh loaded: %d products, %d lineage events", len(products), len(events))
    return len(products)
