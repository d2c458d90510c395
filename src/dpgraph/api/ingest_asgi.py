"""The ingest fast path: a pure ASGI middleware that answers ``POST /api/v1/lineage`` and
``POST /api/v1/lineage/batch`` itself and hands every other request to FastAPI unchanged.

Under load FastAPI's routing and dependency solving cost several times what the receiver
does per event, and a sync route adds a thread-pool hop; here the body is read, decoded and
answered with the same functions the FastAPI routes call (``lineage_post``), and errors are
rendered by ``problems.render``, so both paths answer byte for byte alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dpgraph.api import problems
from dpgraph.api.lineage_post import (
    Receiving,
    answer_batch,
    answer_event,
    collect_body,
    decode_event_body,
)

if TYPE_CHECKING:
    from dpgraph.runtime import Runtime

Answer = Callable[[Receiving, bytes], Awaitable[Response]]
ROUTES: dict[str, Answer] = {"/api/v1/lineage": answer_event,
                             "/api/v1/lineage/batch": answer_batch}


def _app_runtime(scope: Scope) -> Receiving:
    rt: Runtime = scope["app"].state.runtime
    return rt


class IngestFront:
    def __init__(self, app: ASGIApp,
                 runtime_of: Callable[[Scope], Receiving] = _app_runtime) -> None:
        self.app = app
        self._runtime_of = runtime_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            answer = ROUTES.get(scope["path"])
            if answer is not None:
                await _serve(answer, self._runtime_of(scope), scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _serve(answer: Answer, rt: Receiving, scope: Scope, receive: Receive,
                 send: Send) -> None:
    headers = _headers(scope)
    limit = rt.settings.max_body_bytes
    try:
        body = await collect_body(body_chunks(receive), headers.get("content-length"), limit)
        body = decode_event_body(body, headers.get("content-type"),
                                 headers.get("content-encoding"), limit)
        response = await answer(rt, body)
    except ClientDisconnect:
        return  # nobody to answer; nothing was stored
    except Exception as exc:
        response = problems.render(exc)
    await response(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    """The headers read here, first occurrence of each (as Starlette's ``Headers.get``)."""
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key in _WANTED and key not in out:
            out[key] = value.decode("latin-1")
    return out


_WANTED = frozenset({"content-length", "content-type", "content-encoding"})


async def body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Any = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
