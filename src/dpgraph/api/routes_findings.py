"""HTTP resource for governance findings. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dpgraph.api.deps import runtime
from dpgraph.runtime import Runtime
from dpgraph.services.findings import Findings

router = APIRouter(prefix="/api/v1", tags=["findings"])
Rt = Annotated[Runtime, Depends(runtime)]


def _findings(rt: Runtime) -> Findings:
    assert rt.findings is not None
    return rt.findings


@router.get("/findings")
def list_findings(
        rt: Rt,
        kind: Annotated[str | None, Query(description="one finding kind")] = None,
        domain: Annotated[str | None, Query(description="findings concerning this domain")]
        = None,
        product: Annotated[str | None, Query(description="findings concerning this product")]
        = None) -> dict[str, Any]:
    """Governance findings derived from the log's projections (principle findings of product
    lineage, and the other sources the service runs), filtered by kind, domain, product."""
    findings = _findings(rt)
    items = findings.list(kind=kind, domain=domain, product=product)
    return {"kinds": list(findings.kinds), "kind": kind, "domain": domain, "product": product,
            "count": len(items), "findings": [f.to_json() for f in items]}
