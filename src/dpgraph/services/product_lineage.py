"""Product lineage reads (neighbourhood, domain matrix) and the principle findings source."""

from __future__ import annotations

from typing import Any

from dpgraph.errors import Finding, InvalidParameter, NotFound
from dpgraph.findings.model import Finding as GovernanceFinding
from dpgraph.product_lineage.findings import KINDS, principle_findings
from dpgraph.product_lineage.graph import (
    DIRECTIONS,
    ProductLineage,
    dependency_matrix,
    neighbourhood,
)
from dpgraph.services.product_lineage_index import ProductLineageIndex
from dpgraph.services.projection_worker import ProjectionWorker

MAX_DEPTH = 10


def invalid(parameter: str, rule: str, message: str, value: object) -> InvalidParameter:
    return InvalidParameter(f"{parameter}: {message}", errors=[Finding(
        "violation", message, parameter, rule, value=str(value))])


class ProductLineageService:
    def __init__(self, index: ProductLineageIndex, projection: ProjectionWorker) -> None:
        self._index = index
        self._projection = projection

    def _graph(self) -> ProductLineage:
        self._projection.wait_for_log()
        return self._index.graph()

    def lineage(self, product: str, direction: str = "both", depth: int = 1) -> dict[str, Any]:
        if direction not in DIRECTIONS:
            raise invalid("direction", "product-lineage:direction",
                          f"must be one of {', '.join(DIRECTIONS)}", direction)
        if not 1 <= depth <= MAX_DEPTH:
            raise invalid("depth", "product-lineage:depth-range",
                          f"must be between 1 and {MAX_DEPTH}", depth)
        g = self._graph()
        if product not in g.facts.products:
            raise NotFound(f"product {product!r} is not registered", errors=[Finding(
                "violation", f"no product {product!r}", "id", "product-lineage:known-product",
                value=product)])
        return neighbourhood(g, product, direction, depth)

    def dependencies(self) -> dict[str, Any]:
        return dependency_matrix(self._graph())


class PrincipleFindings:
    """A :class:`~dpgraph.findings.model.FindingSource` over product lineage."""

    kinds = KINDS

    def __init__(self, index: ProductLineageIndex) -> None:
        self._index = index

    def findings(self) -> list[GovernanceFinding]:
        return principle_findings(self._index.graph())
