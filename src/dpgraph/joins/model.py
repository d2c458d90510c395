"""Join edges between data elements of two products, their evidence and confidence.

Confidence scale (0..1: how likely joining on the pair gives a correct join):

- 1.0  declared by a registration, or confirmed by a governance user: the owner says so;
- 0.8  both elements carry one master-identifier term: an enterprise-wide key by definition;
- 0.5  both carry one identifier term: the same kind of key, possibly local to one system;
- 0.7  an ingested job's SQL joins the two columns (per distinct job): someone runs that join;
- 0.75 column lineage carries the key unchanged (identity): the values are the same values;
- 0.4  column lineage carries it through another direct transformation: maybe reformatted.

Independent pieces of evidence combine by noisy-OR, ``1 - Π(1 - cᵢ)``, capped at 0.99 so an
inferred candidate never ranks as high as a declared key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DECLARED = 1.0
MAX_INFERRED = 0.99
TERM_CONFIDENCE = {"master-identifier": 0.8, "identifier": 0.5}
SQL_JOIN = 0.7
CARRIED_IDENTITY = 0.75
CARRIED_OTHER = 0.4

# Product ids are slugs, element names match descriptor.NAME_PATTERN: neither holds ':' or '~',
# so a pair id reads back unambiguously.
_REF = r"([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?):([A-Za-z_][A-Za-z0-9_.$-]{0,127})"
_PAIR = re.compile(rf"^{_REF}~{_REF}$")


@dataclass(frozen=True, slots=True, order=True)
class ElementRef:
    product: str
    element: str

    def __str__(self) -> str:
        return f"{self.product}:{self.element}"


def pair_id(a: ElementRef, b: ElementRef) -> str:
    """The id of the unordered pair (a, b): ``product:element~product:element``, sorted."""
    x, y = sorted((a, b))
    return f"{x}~{y}"


def parse_pair_id(text: str) -> tuple[ElementRef, ElementRef]:
    m = _PAIR.match(text)
    if m is None:
        raise ValueError("a candidate id reads product:element~product:element")
    return ElementRef(m[1], m[2]), ElementRef(m[3], m[4])


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # registration | confirmation | shared-term | sql-join | column-lineage
    confidence: float
    detail: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "confidence": self.confidence, **dict(self.detail)}


def combine(confidences: Iterable[float]) -> float:
    """Noisy-OR of independent evidence, capped below a declaration."""
    miss = 1.0
    for c in confidences:
        miss *= 1.0 - c
    return round(min(MAX_INFERRED, 1.0 - miss), 4)


@dataclass(slots=True)
class JoinEdge:
    """What is known about one pair of elements of two products."""

    a: ElementRef  # from: the referencing element when declared, else the pair's first
    b: ElementRef
    status: str = "candidate"  # declared | candidate | rejected
    kind: str = "foreign-key"  # foreign-key | master-identifier
    declared_by: list[Evidence] = field(default_factory=list)
    inferred: list[Evidence] = field(default_factory=list)
    decision: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        return pair_id(self.a, self.b)

    @property
    def confidence(self) -> float:
        if self.status == "declared":
            return DECLARED
        return combine(e.confidence for e in self.inferred)

    @property
    def cost(self) -> float:
        """The confidence part of a path step's cost (0 for a declared key)."""
        return -math.log(max(self.confidence, 1e-6))

    def other(self, product: str) -> ElementRef:
        return self.b if self.a.product == product else self.a

    def own(self, product: str) -> ElementRef:
        return self.a if self.a.product == product else self.b

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "status": self.status, "kind": self.kind,
            "from": {"product": self.a.product, "element": self.a.element},
            "to": {"product": self.b.product, "element": self.b.element},
            "confidence": self.confidence,
            "evidence": [e.as_dict() for e in (*self.declared_by, *self.inferred)],
        }
        if self.decision is not None:
            out["decision"] = self.decision
        return out
