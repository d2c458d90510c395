"""Full-text search over products, data elements, columns, glossary terms, catalog entities,
lineage datasets and jobs: the read side of the search projection."""

from __future__ import annotations

from typing import Any

from dpgraph.search.index import MARK_END, MARK_START, Hit, SearchIndex
from dpgraph.search.model import FIELD_WEIGHTS
from dpgraph.search.query import SearchRequest
from dpgraph.services.projection_worker import ProjectionWorker

SNIPPET_CHARS = 160


class SearchService:
    def __init__(self, index: SearchIndex, projection: ProjectionWorker) -> None:
        self._index = index
        self._projection = projection

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """Hits best first; waits until the index holds every write acknowledged so far (the
        projection worker feeds it the batches it projects into the graph)."""
        self._projection.wait_for_log()
        total, hits = self._index.search(request.match, types=request.types,
                                         domains=request.domains, limit=request.limit,
                                         offset=request.offset)
        return {"query": request.text, "total": total, "limit": request.limit,
                "offset": request.offset, "hits": [render_hit(h) for h in hits]}


def render_hit(hit: Hit) -> dict[str, Any]:
    matched = sorted(hit.marked, key=lambda f: -FIELD_WEIGHTS[f])
    out: dict[str, Any] = {"type": hit.type, **{k: x for k, x in hit.show.items()
                                                if x is not None}}
    if hit.domain is not None:
        out.setdefault("domain", hit.domain)
    out["score"] = round(hit.score, 6)
    out["matched"] = matched
    if matched:
        text, highlights = snippet(hit.marked[matched[0]])
        out["snippet"] = {"field": matched[0], "text": text, "highlights": highlights}
    return out


def snippet(marked: str, width: int = SNIPPET_CHARS) -> tuple[str, list[list[int]]]:
    """A window of about ``width`` characters of ``marked`` around its first match, cut at
    spaces, and the [start, end) offsets of the matched words in it."""
    first = marked.index(MARK_START)
    start = 0 if first < width // 3 else marked.rfind(" ", 0, first - width // 3) + 1
    end = marked.find(" ", start + width)
    window = marked[start:] if end == -1 else marked[start:end]
    prefix, suffix = ("…" if start > 0 else ""), ("…" if end != -1 else "")
    text, highlights, pos = [prefix], [], len(prefix)
    for i, part in enumerate(window.split(MARK_START)):
        inner, _, rest = part.partition(MARK_END) if i else ("", "", part)
        if i and inner:
            highlights.append([pos, pos + len(inner)])
        pos += len(inner) + len(rest)
        text += [inner, rest]
    return "".join(text) + suffix, highlights
