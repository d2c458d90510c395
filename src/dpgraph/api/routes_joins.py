"""HTTP resources for join keys, candidates and join paths. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from dpgraph.api.deps import runtime
from dpgraph.runtime import Runtime
from dpgraph.services.join_keys import JoinKeys

router = APIRouter(prefix="/api/v1", tags=["join keys"])
Rt = Annotated[Runtime, Depends(runtime)]


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    by: str | None = Field(None, max_length=200, description="who decides")
    reason: str | None = Field(None, max_length=2000, description="why")
    kind: Literal["foreign-key", "master-identifier"] | None = Field(
        None, description="kind of the declared key (confirm only; default: inferred)")
    from_: str | None = Field(None, alias="from",
                              description="product holding the referencing element")


def _joins(rt: Runtime) -> JoinKeys:
    assert rt.joins is not None
    return rt.joins


@router.get("/join-keys")
def list_join_keys(
        rt: Rt,
        product: Annotated[str | None, Query(description="only keys touching this product")]
        = None,
        status: Annotated[Literal["declared", "candidate", "rejected"] | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    """Declared join keys (registered or confirmed), inferred candidates with their evidence
    and confidence, and rejected candidates."""
    return _joins(rt).list(product, status, limit, offset)


@router.post("/join-keys/candidates/{candidate_id}/confirm")
def confirm_candidate(rt: Rt, candidate_id: str,
                      body: Annotated[DecisionBody | None, Body()] = None) -> dict[str, Any]:
    """Confirm a candidate: it becomes a declared join key (durable: a log record)."""
    b = body or DecisionBody()
    return _joins(rt).decide(candidate_id, "confirm", by=b.by, reason=b.reason, kind=b.kind,
                             from_product=b.from_)


@router.post("/join-keys/candidates/{candidate_id}/reject")
def reject_candidate(rt: Rt, candidate_id: str,
                     body: Annotated[DecisionBody | None, Body()] = None) -> dict[str, Any]:
    """Reject a candidate (or a confirmed one): it is no longer offered nor used in paths."""
    b = body or DecisionBody()
    return _joins(rt).decide(candidate_id, "reject", by=b.by, reason=b.reason)


@router.get("/join-paths")
def get_join_paths(
        rt: Rt,
        from_: Annotated[str, Query(alias="from", description="product id")],
        to: Annotated[str, Query(description="product id")],
        max_hops: Annotated[int, Query(ge=1, le=6)] = 4,
        limit: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    """Ranked join paths between two products, each step naming the physical columns of the
    chosen representations, with an example SQL join (DuckDB dialect)."""
    return _joins(rt).paths(from_, to, max_hops, limit)
