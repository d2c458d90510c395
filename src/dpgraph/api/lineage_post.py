"""Answering the lineage POSTs: reading, inflating and handing the body to the receiver.

Used by the FastAPI routes (``routes_lineage``) and by the ingest fast path
(``ingest_asgi``), which the ingest front and its workers run: so only the receiver's own
imports here, not FastAPI's routing or the runtime (the front's processes stay small).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import Protocol

from starlette.responses import JSONResponse

from dpgraph.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from dpgraph.services.lineage import LineageReceiver
from dpgraph.settings import Settings


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


def decode_event_body(body: bytes, content_type: str | None, content_encoding: str | None,
                      limit: int) -> bytes:
    """The JSON body, inflated when gzip-encoded, refused when of another media type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            f"Content-Type {media or '(none)'!r} is not accepted; send application/json")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, limit)
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


class Receiving(Protocol):
    """What answering a lineage POST needs of the runtime: its settings and its receiver
    (a whole :class:`Runtime`, or the ingest front's own, see ``api/front.py``)."""

    settings: Settings
    lineage: LineageReceiver


async def answer_event(rt: Receiving, body: bytes) -> JSONResponse:
    receipt = await rt.lineage.receive_async(body)
    return JSONResponse(receipt.as_dict(), status_code=200 if receipt.duplicate else 201)


async def answer_batch(rt: Receiving, body: bytes) -> JSONResponse:
    return JSONResponse((await rt.lineage.receive_batch_async(body)).as_dict())
