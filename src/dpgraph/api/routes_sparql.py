"""The SPARQL 1.1 Protocol query operation at ``/sparql``: GET with ``query=``, POST
form-encoded, POST ``application/sparql-query``. Updates are refused (read-only)."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from dpgraph.api.deps import read_body, runtime
from dpgraph.api.sparql_media import negotiate_answer
from dpgraph.errors import Finding, InvalidInput, UnsupportedMediaType
from dpgraph.runtime import Runtime
from dpgraph.services.sparql_checks import refuse_update_request
from dpgraph.store.base import GRAPH_MEDIA_TYPES, RESULTS_MEDIA_TYPES, UserQuery

router = APIRouter(tags=["sparql"])
Rt = Annotated[Runtime, Depends(runtime)]
Accept = Annotated[str | None, Header()]
FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"
ANSWERS = {200: {"description": "the answer, in the negotiated format",
                 "content": {m: {} for m in (*RESULTS_MEDIA_TYPES, *GRAPH_MEDIA_TYPES)}},
           400: {"description": "syntax error (message, line, column) or invalid parameter"},
           403: {"description": "update, LOAD or SERVICE: the endpoint is read-only"},
           406: {"description": "no acceptable answer format"},
           504: {"description": "the query ran longer than its time limit"}}
POST_BODY = {"requestBody": {"required": True, "content": {
    FORM: {"schema": {"type": "object", "required": ["query"], "properties": {
        "query": {"type": "string"},
        "default-graph-uri": {"type": "array", "items": {"type": "string"}},
        "named-graph-uri": {"type": "array", "items": {"type": "string"}},
        "timeout": {"type": "number"}, "format": {"type": "string"}}}},
    SPARQL_QUERY: {"schema": {"type": "string"}}}}}


@router.get("/sparql", responses=ANSWERS)  # type: ignore[misc]
def sparql_get(
    rt: Rt,
    accept: Accept = None,
    query: Annotated[str, Query(description="the SPARQL query")] = "",
    default_graph_uri: Annotated[list[str] | None, Query(alias="default-graph-uri")] = None,
    named_graph_uri: Annotated[list[str] | None, Query(alias="named-graph-uri")] = None,
    timeout: Annotated[float | None, Query(gt=0, description="seconds, capped by "
                                           "DPGRAPH_SPARQL_TIMEOUT")] = None,
    format: Annotated[list[str] | None, Query(description="overrides Accept: json, xml, "
                                              "csv, tsv, turtle, nt, json-ld, rdf or a media "
                                              "type; unknown values are ignored")] = None,
) -> Response:
    """Run a read-only SPARQL query; the answer format is negotiated by Accept."""
    params = {"query": [query] if query else [], "default-graph-uri": default_graph_uri or [],
              "named-graph-uri": named_graph_uri or [], "timeout": [],
              "format": format or []}
    return _answer(rt, params, accept, timeout)


@router.post("/sparql", responses=ANSWERS, openapi_extra=POST_BODY)  # type: ignore[misc]
async def sparql_post(request: Request, rt: Rt, accept: Accept = None,
                      content_type: Annotated[str | None, Header()] = None) -> Response:
    """Run a read-only SPARQL query sent as a form or as an ``application/sparql-query``
    body; SPARQL Update is refused."""
    media = (content_type or "").split(";")[0].strip().lower()
    url_params = parse_qs(request.url.query, keep_blank_values=True)
    if media == SPARQL_UPDATE:
        refuse_update_request()
    if media == FORM:
        params = parse_qs(_text(await read_body(request)), keep_blank_values=True)
        if "update" in params:
            refuse_update_request()
    elif media == SPARQL_QUERY:
        params = {**url_params, "query": [_text(await read_body(request))]}
    else:
        raise UnsupportedMediaType(f"send the query as {FORM} or {SPARQL_QUERY}, "
                                   f"not {media or 'no Content-Type'}")
    return _answer(rt, params, accept, _timeout(params.get("timeout", [])))


def _answer(rt: Rt, params: dict[str, list[str]], accept: str | None,
            timeout: float | None) -> Response:
    sparql = _one(params, "query")
    formats = negotiate_answer(accept, params.get("format", []))
    answer = rt.sparql.query(UserQuery(
        sparql, timeout=math.inf if timeout is None else timeout,
        results_media=formats.results, graph_media=formats.graph,
        default_graphs=tuple(params.get("default-graph-uri", [])),
        named_graphs=tuple(params.get("named-graph-uri", []))))
    return Response(answer.body, media_type=answer.media_type, headers={"Vary": "Accept"})


def _one(params: dict[str, list[str]], name: str) -> str:
    values = params.get(name, [])
    if len(values) != 1 or not values[0].strip():
        rule = "missing" if not values or not values[0].strip() else "repeated"
        raise _invalid(name, f"exactly one non-empty {name} parameter is required", rule)
    return values[0]


def _timeout(values: list[str]) -> float | None:
    if not values:
        return None
    try:
        seconds = float(values[-1])
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise _invalid("timeout", "timeout must be a positive number of seconds", "number")
    return seconds


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the request body is not UTF-8") from exc


def _invalid(field: str, message: str, rule: str) -> InvalidInput:
    return InvalidInput(message, errors=[Finding("violation", message, field,
                                                 f"sparql-protocol:{rule}")])
