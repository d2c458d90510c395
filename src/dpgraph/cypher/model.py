"""Backend-neutral changes to the property-graph view (docs/property-graph.md).

The mapping from log records to these changes is pure; each Cypher backend (embedded,
Bolt) turns them into its own statements. Every change is idempotent and independent of
the order lineage events arrive in, so a batch can be re-applied after a crash (the Bolt
server here cannot roll back) and still land in the same state:

- ``NodeUpsert``: create the node if missing, then ``set`` overwrites (``None`` removes the
  property: a catalog entry that dropped its e-mail), ``earliest`` keeps the
  smaller of old and new, ``latest`` the larger (ISO times compare as strings), and
  ``ranked`` writes its properties only when its rank is higher than the node's stored
  ``rank_property`` (or equal with a later ``tiebreak`` value): a run's state and end time
  come from its terminal event whatever the arrival order.
- ``RelUpsert``: create the relationship between two existing-or-created nodes if missing
  (one per type and end points), with the same merge policies for its properties.
- ``DeleteOwned``: delete every node whose ``owner`` property equals ``owner`` (and their
  relationships). A product's registration replaces its own nodes this way.

Details every backend keeps (the Bolt backend's tests check them):

- ``ranked`` also stores ``rank_property = rank`` and ``tiebreak_property = tiebreak`` on the
  node, as ordinary properties; equal rank and equal tiebreak write nothing (the first stays),
  so a mapping gives distinct tiebreaks to changes whose ``props`` differ. A missing stored
  rank (or tiebreak) always loses.
- One upsert applies ``set`` first, then ``earliest``/``latest``, then ``ranked``; a property
  belongs to one policy only.
- ``owner`` is an ordinary stored property (queries see it).
- A ``RelUpsert`` whose end point does not exist creates it with its ``id`` only.
- Backends may fold the upserts between two deletes per node or relationship before writing
  (``set``: later wins; ``earliest``/``latest``: min/max; ``ranked``: the higher
  ``(rank, tiebreak)``, the first on a tie): same result as applying them one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Scalar = str | int | float | bool
Value = Scalar | None


@dataclass(frozen=True, slots=True)
class Ranked:
    rank_property: str
    rank: int
    tiebreak_property: str
    tiebreak: str
    props: Mapping[str, Scalar]


@dataclass(frozen=True, slots=True)
class NodeUpsert:
    label: str
    id: str
    set: Mapping[str, Value] = field(default_factory=dict)
    earliest: Mapping[str, str] = field(default_factory=dict)
    latest: Mapping[str, str] = field(default_factory=dict)
    ranked: Ranked | None = None


@dataclass(frozen=True, slots=True)
class RelUpsert:
    type: str
    src_label: str
    src_id: str
    dst_label: str
    dst_id: str
    set: Mapping[str, Value] = field(default_factory=dict)
    earliest: Mapping[str, str] = field(default_factory=dict)
    latest: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeleteOwned:
    owner: str


Change = NodeUpsert | RelUpsert | DeleteOwned

# A write statement in the openCypher subset every backend runs (see dpgraph.cypher.relink).
Statement = tuple[str, Mapping[str, Any]]
