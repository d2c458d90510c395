"""Governance findings from every source, filtered; read after the projection caught up.

A finding concerns a product or domain when its ``product``/``domain`` says so or when its
evidence lists it under ``products``/``domains`` (a cross-domain finding concerns both sides).
"""

from __future__ import annotations

from collections.abc import Sequence

from dpgraph.findings.model import Finding, FindingSource
from dpgraph.services.product_lineage import invalid
from dpgraph.services.projection_worker import ProjectionWorker


class Findings:
    def __init__(self, sources: Sequence[FindingSource], projection: ProjectionWorker) -> None:
        self._sources = list(sources)
        self._projection = projection

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for s in self._sources for k in s.kinds))

    def list(self, kind: str | None = None, domain: str | None = None,
             product: str | None = None) -> list[Finding]:
        if kind is not None and kind not in self.kinds:
            raise invalid("kind", "findings:known-kind",
                          f"unknown finding kind; known kinds: {', '.join(self.kinds)}", kind)
        self._projection.wait_for_log()
        out = [f for s in self._sources if kind is None or kind in s.kinds
               for f in s.findings()]
        return sorted((f for f in out if _matches(f, kind, domain, product)),
                      key=lambda f: (f.kind, f.subject, f.summary))


def _matches(f: Finding, kind: str | None, domain: str | None, product: str | None) -> bool:
    if kind is not None and f.kind != kind:
        return False
    if domain is not None and f.domain != domain and domain not in f.evidence.get(
            "domains", ()):
        return False
    return product is None or f.product == product or product in f.evidence.get(
        "products", ())
