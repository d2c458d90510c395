"""Named governance queries: list them, run one with query-string parameters."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dpgraph.api.deps import runtime
from dpgraph.errors import StoreUnavailable
from dpgraph.runtime import Runtime
from dpgraph.services.named_queries import NamedQueries

router = APIRouter(prefix="/api/v1", tags=["named queries"])
Rt = Annotated[Runtime, Depends(runtime)]
RESERVED = frozenset({"lang"})


def _queries(rt: Runtime) -> NamedQueries:
    if rt.queries is None:
        raise StoreUnavailable("named queries are not available in this service")
    return rt.queries


@router.get("/queries")
def list_queries(rt: Rt) -> list[dict[str, Any]]:
    """Every named query: name, title, description, parameters, columns, languages."""
    return _queries(rt).list()


@router.get("/queries/{name}")
def run_query(rt: Rt, name: str, request: Request,
              lang: Annotated[str, Query(description="sparql or cypher")] = "sparql"
              ) -> dict[str, Any]:
    """Run a named query; its parameters are query-string parameters (`?product=sales-orders`).
    The answer holds the bound parameters, the columns and the rows (lists in column order)."""
    params = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    return _queries(rt).run(name, params, lang).as_dict()
