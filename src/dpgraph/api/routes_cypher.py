"""POST /api/v1/cypher: read-only Cypher over the property-graph view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from dpgraph.api.deps import runtime
from dpgraph.errors import StoreUnavailable
from dpgraph.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["cypher"])
Rt = Annotated[Runtime, Depends(runtime)]


class CypherRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=100_000,
                       description="one read-only openCypher statement")
    parameters: dict[str, Any] = Field(default_factory=dict,
                                       description="values of $name parameters")
    timeout: float | None = Field(None, gt=0, description="seconds; at most "
                                  "DPGRAPH_CYPHER_TIMEOUT")


@router.post("/cypher")
def post_cypher(rt: Rt, body: CypherRequest) -> dict[str, Any]:
    """Run a read query (MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN, WHERE, ORDER BY, SKIP,
    LIMIT, UNION) over the property-graph view (docs/property-graph.md). Rows are JSON
    objects; a node is its properties plus ``_labels``, a relationship its properties plus
    ``_type``, a path ``{nodes, relationships}``. Any other clause is refused with 400."""
    if rt.cypher is None:
        raise StoreUnavailable("the Cypher view is not configured")
    return rt.cypher.query(body.query, body.parameters, body.timeout)
