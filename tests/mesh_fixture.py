"""The demo mesh plus the lineage fixture events of examples/lineage, as the named-query tests
see it: one runtime on a temporary directory, everything written through the real services.

One change to the demo catalog: Anna de Vries (owner of customer-consent) is marked inactive,
so that the inactive-owner query has a row to find.
"""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLES

from dpgraph.demo import load_demo
from dpgraph.descriptor import CatalogDescriptor
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

NOW = "2026-11-24T12:00:00Z"  # the fixture events happen on 2026-11-10 … 2026-11-24
LINEAGE_EVENTS = sorted((EXAMPLES / "lineage").glob("*.json"))

ANNA_LEFT = CatalogDescriptor.model_validate({
    "apiVersion": "dpgraph/v1", "kind": "Catalog",
    "owners": [{"id": "anna-de-vries", "name": "Anna de Vries", "kind": "person",
                "email": "anna.devries@retail.example", "domain": "customer",
                "active": False}]})


def open_mesh(data_dir: Path) -> Runtime:
    rt = open_runtime(Settings(data_dir=data_dir))
    load_demo(rt.registry, rt.artefacts.examples)
    outcome = rt.registry.register_catalog(ANNA_LEFT)
    assert outcome.accepted, [f.as_dict() for f in outcome.report.violations]
    for path in LINEAGE_EVENTS:
        rt.lineage.receive(path.read_bytes())
    return rt
