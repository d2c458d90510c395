"""Load the example mesh (examples/) through the normal write path."""

from __future__ import annotations

import logging
from graphlib import TopologicalSorter
from pathlib import Path

import yaml

from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.services.registry import Registry

log = logging.getLogger("dpgraph.demo")


def demo_products(directory: Path) -> list[ProductDescriptor]:
    """The example products, ordered so that join-key targets are registered first."""
    products = {}
    for path in sorted(directory.glob("*.yaml")):
        d = ProductDescriptor.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        products[d.id] = d
    graph = {pid: {k.references.product for k in d.joinKeys if k.references.product != pid}
             for pid, d in products.items()}
    return [products[pid] for pid in TopologicalSorter(graph).static_order() if pid in products]


def load_demo(registry: Registry, root: Path) -> int:
    """Register the demo catalog and products; already-registered content is left unchanged."""
    catalog = CatalogDescriptor.model_validate(
        yaml.safe_load((root / "catalog.yaml").read_text(encoding="utf-8")))
    registry.register_catalog(catalog)
    products = demo_products(root / "products")
    for d in products:
        registry.register_product(d)
    log.info("demo mesh loaded: %d products", len(products))
    return len(products)
