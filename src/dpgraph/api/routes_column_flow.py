"""HTTP resources for propagated classifications and schema drift. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dpgraph.api.deps import runtime
from dpgraph.runtime import Runtime
from dpgraph.services.column_flow import ColumnFlow

router = APIRouter(prefix="/api/v1", tags=["classifications", "drift"])
Rt = Annotated[Runtime, Depends(runtime)]


def _flow(rt: Runtime) -> ColumnFlow:
    assert rt.column_flow is not None
    return rt.column_flow


@router.get("/classifications")
def get_classifications(
        rt: Rt,
        namespace: Annotated[str | None, Query(description="OpenLineage dataset namespace")]
        = None,
        name: Annotated[str | None, Query(description="OpenLineage dataset name")] = None,
        location: Annotated[str | None, Query(description="or a representation location")]
        = None) -> dict[str, Any]:
    """Per field of one dataset: the classification labels flowing into it along column
    lineage (each with the path from the registered element it comes from), the labels
    registered on it, and the derivations producing it (whether each carries labels)."""
    return _flow(rt).classifications(namespace, name, location)


@router.get("/products/{product_id}/drift", tags=["products"])
def get_drift(rt: Rt, product_id: str) -> dict[str, Any]:
    """Per representation linked to an output dataset of lineage: the latest schema facet
    against the registered attributes (added, removed, type-changed columns), with the run
    that showed it."""
    return _flow(rt).drift(product_id)
