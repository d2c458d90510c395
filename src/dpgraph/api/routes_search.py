"""Full-text search. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dpgraph.api.deps import runtime
from dpgraph.runtime import Runtime
from dpgraph.search.model import TYPES
from dpgraph.search.query import MAX_QUERY_CHARS, parse_request

router = APIRouter(prefix="/api/v1", tags=["search"])
Rt = Annotated[Runtime, Depends(runtime)]


@router.get("/search")
def search(
    rt: Rt,
    q: Annotated[str | None, Query(description=(
        f"words to find (at most {MAX_QUERY_CHARS} characters); every word must match, "
        "each as the start of a word: `cust` finds customer"))] = None,
    type: Annotated[str | None, Query(description=(
        f"comma-separated kinds of hit: {', '.join(TYPES)}"))] = None,
    domain: Annotated[str | None, Query(description=(
        "comma-separated domain ids: products and their elements and columns by the "
        "product's domain; lineage datasets, their fields and jobs by the domain of a "
        "product that claims them"))] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> dict[str, Any]:
    """Ranked hits (bm25, names above descriptions) with the fields that matched and a
    snippet whose `highlights` are [start, end) offsets of the matched words."""
    return rt.search.search(parse_request(q, type, domain, limit, offset))
