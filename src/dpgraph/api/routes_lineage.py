"""OpenLineage HTTP transport endpoints and the raw event listing (Marquez's shape)."""

from __future__ import annotations

import zlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from dpgraph.api.deps import read_body, runtime
from dpgraph.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from dpgraph.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["lineage"])
Rt = Annotated[Runtime, Depends(runtime)]
EVENT_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"description": "an OpenLineage RunEvent, DatasetEvent or JobEvent "
               "(https://openlineage.io/spec/2-0-2/OpenLineage.json)"}}}}}


async def event_body(request: Request, body: Annotated[bytes, Depends(read_body)]) -> bytes:
    """The JSON body, inflated when gzip-encoded, refused when of another media type."""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {media or '(none)'!r} is not accepted; send application/json")
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, request.app.state.runtime.settings.max_body_bytes)
    if encoding != "identity":
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not accepted; use gzip")
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(f"body is not valid gzip: {exc}") from exc
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"inflated body exceeds the limit of {limit} bytes")
    return data


Body = Annotated[bytes, Depends(event_body)]


@router.post("/lineage", openapi_extra=EVENT_BODY, status_code=201,
             responses={200: {"description": "a retry of an event already stored"},
                        422: {"description": "refused: the JSON pointer and rule of each "
                                             "problem"}})
def post_lineage(rt: Rt, body: Body,
                 authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Receive one OpenLineage event (the HTTP transport's default path)."""
    receipt = rt.lineage.receive(body)
    return JSONResponse(receipt.as_dict(), status_code=200 if receipt.duplicate else 201)


@router.post("/lineage/batch", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "array"}}}}})
def post_lineage_batch(rt: Rt, body: Body,
                       authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Receive a batch; each event is accepted or refused on its own (the spec's
    ``partial_success`` answer lists the refused ones in ``failed_events``)."""
    return rt.lineage.receive_batch(body).as_dict()


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
