"""Request dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request

from dpgraph.errors import InvalidInput, PayloadTooLarge
from dpgraph.runtime import Runtime


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def read_body(request: Request) -> bytes:
    return await collect_body(request.stream(), request.headers.get("content-length"),
                              request.app.state.runtime.settings.max_body_bytes)


async def collect_body(chunks: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The whole body, refused when larger than ``limit`` (before reading it when its
    Content-Length says so) or empty."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        parts.append(chunk)
    body = b"".join(parts)
    if not body.strip():
        raise InvalidInput("the request body is empty")
    return body
