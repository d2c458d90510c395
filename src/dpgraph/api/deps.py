"""Request dependencies shared by the routers."""

from __future__ import annotations

from fastapi import Request

from dpgraph.api.lineage_post import collect_body
from dpgraph.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def read_body(request: Request) -> bytes:
    return await collect_body(request.stream(), request.headers.get("content-length"),
                              request.app.state.runtime.settings.max_body_bytes)
