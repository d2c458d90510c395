"""What a governance finding is, and what produces findings.

A finding is derived, never stored on its own: each source computes its findings from an
in-memory projection of the log (kept up to date by the projector, rebuilt by replay), so
findings update as events and registrations arrive and a replay gives the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Finding:
    kind: str  # a stable slug, e.g. "cross-domain-raw-read"; one source may raise several
    severity: Severity
    summary: str  # one sentence a person can act on, naming the things involved
    subject: str  # the node it is about: "product:ID", "dataset:NS:NAME", "job:NS:NAME", ...
    product: str | None = None  # the product it concerns (for filtering), if any
    domain: str | None = None  # the domain it concerns (for filtering), if any
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-ready facts behind it

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "severity": self.severity, "summary": self.summary,
                "subject": self.subject, "product": self.product, "domain": self.domain,
                "evidence": self.evidence}


class FindingSource(Protocol):
    """Something that derives findings from its projection of the log."""

    kinds: tuple[str, ...]  # the finding kinds it can raise

    def findings(self) -> list[Finding]: ...
