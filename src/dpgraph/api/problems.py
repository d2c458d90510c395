"""The one place where errors become HTTP responses (RFC 9457 problem+json bodies)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from dpgraph.errors import DpgraphError, Finding

if TYPE_CHECKING:  # FastAPI only where an app is built: the ingest front renders without it
    from fastapi import FastAPI

log = logging.getLogger("dpgraph.api")
PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, errors: list[Finding] | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail, **extra}
    if errors is not None:
        body["errors"] = [e.as_dict() for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def render(exc: Exception) -> JSONResponse:
    """The problem answer to an error raised while serving a request."""
    if not isinstance(exc, DpgraphError):
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", "the service failed; see its log")
    if exc.status >= 500 and not exc.public:
        log.exception("internal error", exc_info=exc)
        return problem(exc.status, exc.title, "the service failed; see its log")
    return problem(exc.status, exc.title, exc.detail, exc.errors, **exc.extra)


def install(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(DpgraphError)
    async def _dpgraph(_: Request, exc: DpgraphError) -> JSONResponse:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            Finding("violation", str(e.get("msg")),
                    ".".join(str(p) for p in e.get("loc", ())), f"request:{e.get('type')}")
            for e in exc.errors()
        ]
        return problem(400, "Invalid request", "the request's parameters are invalid", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return render(exc)
