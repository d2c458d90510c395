"""OpenLineage HTTP transport endpoints and the raw event listing (Marquez's shape)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from dpgraph.api.deps import read_body, runtime
from dpgraph.api.lineage_post import answer_batch, answer_event, decode_event_body
from dpgraph.errors import InvalidInput
from dpgraph.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["lineage"])
Rt = Annotated[Runtime, Depends(runtime)]
EVENT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"description": "an OpenLineage RunEvent, DatasetEvent or JobEvent "
               "(https://openlineage.io/spec/2-0-2/OpenLineage.json)"}}}}}


async def event_body(request: Request, body: Annotated[bytes, Depends(read_body)]) -> bytes:
    return decode_event_body(body, request.headers.get("content-type"),
                             request.headers.get("content-encoding"),
                             request.app.state.runtime.settings.max_body_bytes)


Body = Annotated[bytes, Depends(event_body)]

# api/ingest_asgi.py answers these two POSTs before FastAPI sees them (its dependency solving
# and routing cost more than the receiver itself under load), with the same functions
# (collect_body, decode_event_body, answer_*, problems.render). These declarations stay the
# contract in the OpenAPI document, and answer the same way if reached.


@router.post("/lineage", openapi_extra=EVENT_BODY, status_code=201,
             responses={200: {"description": "a retry of an event already stored"},
                        422: {"description": "refused: the JSON pointer and rule of each "
                                             "problem"}})
async def post_lineage(rt: Rt, body: Body,
                       authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Receive one OpenLineage event (the HTTP transport's default path)."""
    return await answer_event(rt, body)


@router.post("/lineage/batch", response_model=dict[str, Any],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array"}}}}})
async def post_lineage_batch(rt: Rt, body: Body,
                             authorization: Annotated[str | None, Header()] = None
                             ) -> JSONResponse:
    """Receive a batch; each event is accepted or refused on its own (the spec's
    ``partial_success`` answer lists the refused ones in ``failed_events``)."""
    return await answer_batch(rt, body)


@router.get("/events/lineage")
def list_lineage_events(
    rt: Rt,
    before: Annotated[str | None, Query(description="eventTime upper bound (ISO 8601)")] = None,
    after: Annotated[str | None, Query(description="eventTime lower bound (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    sortDirection: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> dict[str, Any]:
    """Raw events as received, newest first by default (Marquez's filters)."""
    try:
        return rt.lineage.events(before=before, after=after, limit=limit, offset=offset,
                                 descending=sortDirection == "desc")
    except ValueError as exc:
        raise InvalidInput(f"before/after must be ISO 8601 date-times: {exc}") from exc
