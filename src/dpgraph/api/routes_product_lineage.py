"""HTTP resources for product lineage and the domain dependency matrix. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dpgraph.api.deps import runtime
from dpgraph.runtime import Runtime
from dpgraph.services.product_lineage import MAX_DEPTH, ProductLineageService

router = APIRouter(prefix="/api/v1", tags=["lineage"])
Rt = Annotated[Runtime, Depends(runtime)]


def _service(rt: Runtime) -> ProductLineageService:
    assert rt.product_lineage is not None
    return rt.product_lineage


@router.get("/products/{product_id}/lineage", tags=["products"])
def product_lineage(
        rt: Rt, product_id: str,
        direction: Annotated[str, Query(description="upstream | downstream | both")] = "both",
        depth: Annotated[int, Query(description=f"product hops, 1 to {MAX_DEPTH}")] = 1,
) -> dict[str, Any]:
    """The products feeding this product or fed by it, within ``depth`` hops: nodes (products
    with domain and lifecycle status) and edges (crossesDomain, jobs with their domain, last
    run, run count, the datasets read and written)."""
    return _service(rt).lineage(product_id, direction, depth)


@router.get("/domains/dependencies")
def domain_dependencies(rt: Rt) -> dict[str, Any]:
    """Domain-to-domain dependency matrix: rows the consuming domain, columns the producing
    domain, each cell the product edges (and the products and jobs behind them)."""
    return _service(rt).dependencies()
