"""Classification labels flowing along column derivations: the graph and its fixpoint.

Nodes are columns (normalised dataset location, lower-case column name); an edge u → v says
v is derived from u by at least one derivation that carries a label (see
:mod:`.derivations`). Labels are seeded at the columns of registered, classified elements.
The labels of a column are those of every seed it can be reached from: a reachability
fixpoint, unique whatever order edges and seeds arrive in.

Incremental: a new edge or seed propagates only where a label set grows, so its cost is the
number of columns that gain a label (nothing, for an edge whose source carries no label). A
removal (a job no longer deriving a column, a label taken off a registration) would need
labels taken back, which a grow-only walk cannot do: it marks the graph stale and the next
read recomputes the fixpoint from the seeds (one breadth-first pass over the labelled part).

Paths shown as evidence are found at read time, walking back from the column over edges
whose source carries the label to the nearest seed of it: deterministic for a given graph,
so a live service and a replayed one show the same path.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable

Column = tuple[str, str]


class LabelFlow:
    def __init__(self) -> None:
        self._ids: dict[Column, int] = {}
        self._columns: list[Column] = []
        self._out: dict[int, dict[int, int]] = {}  # u -> v -> number of derivations
        self._in: dict[int, list[int]] = {}
        self._seeds: dict[int, dict[str, set[Hashable]]] = {}  # node -> label -> seed refs
        self._labels: dict[int, set[str]] = {}
        self.stale = False

    # ---------------------------------------------------------------- structure
    def node(self, column: Column) -> int:
        n = self._ids.get(column)
        if n is None:
            n = self._ids[column] = len(self._columns)
            self._columns.append(column)
        return n

    def find(self, column: Column) -> int | None:
        return self._ids.get(column)

    def column(self, node: int) -> Column:
        return self._columns[node]

    def has_edge(self, source: Column, output: Column) -> bool:
        u, v = self._ids.get(source), self._ids.get(output)
        return u is not None and v is not None and v in self._out.get(u, {})

    def add_edge(self, source: Column, output: Column) -> None:
        u, v = self.node(source), self.node(output)
        out = self._out.setdefault(u, {})
        if v in out:
            out[v] += 1
            return
        out[v] = 1
        self._in.setdefault(v, []).append(u)
        if not self.stale and u in self._labels:
            self._spread([(v, set(self._labels[u]))])

    def remove_edge(self, source: Column, output: Column) -> None:
        u, v = self._ids.get(source), self._ids.get(output)
        out = self._out.get(u) if u is not None else None
        if out is None or v not in out:
            return
        out[v] -= 1
        if out[v] == 0:
            del out[v]
            self._in[v].remove(u)  # type: ignore[index]
            self.stale = True

    def add_seed(self, column: Column, label: str, ref: Hashable) -> None:
        n = self.node(column)
        self._seeds.setdefault(n, {}).setdefault(label, set()).add(ref)
        if not self.stale:
            self._spread([(n, {label})])

    def remove_seed(self, column: Column, label: str, ref: Hashable) -> None:
        n = self._ids.get(column)
        refs = self._seeds.get(n, {}).get(label) if n is not None else None
        if refs is None or ref not in refs:
            return
        refs.discard(ref)
        if not refs:
            del self._seeds[n][label]  # type: ignore[index]
            self.stale = True

    # ---------------------------------------------------------------- fixpoint
    def _spread(self, start: Iterable[tuple[int, set[str]]]) -> int:
        """Add labels at nodes and carry them downstream; returns how many grew."""
        grown = 0
        queue: deque[tuple[int, set[str]]] = deque(start)
        labels = self._labels
        out = self._out
        while queue:
            n, offered = queue.popleft()
            have = labels.get(n)
            if have is None:
                new = offered
                labels[n] = set(offered)
            else:
                new = offered - have
                if not new:
                    continue
                have |= new
            grown += 1
            for v in out.get(n, ()):
                queue.append((v, new))
        return grown

    def recompute(self) -> int:
        """The fixpoint from the seeds alone; returns the number of labelled columns."""
        self._labels = {}
        self._spread([(n, set(by_label)) for n, by_label in self._seeds.items() if by_label])
        self.stale = False
        return len(self._labels)

    def settle(self) -> None:
        if self.stale:
            self.recompute()

    # ---------------------------------------------------------------- reading
    def labels(self, column: Column) -> set[str]:
        self.settle()
        n = self._ids.get(column)
        return set(self._labels.get(n, ())) if n is not None else set()

    def seeds_at(self, column: Column) -> dict[str, set[Hashable]]:
        n = self._ids.get(column)
        return {k: set(v) for k, v in self._seeds.get(n, {}).items()} if n is not None else {}

    def path(self, column: Column, label: str) -> list[Column]:
        """The shortest path from a seed of ``label`` to ``column`` (seed first); empty when
        the label does not reach it."""
        self.settle()
        target = self._ids.get(column)
        if target is None or label not in self._labels.get(target, ()):
            return []
        previous: dict[int, int | None] = {target: None}
        queue = deque([target])
        while queue:
            n = queue.popleft()
            if label in self._seeds.get(n, {}):
                path = [n]
                while (nxt := previous[path[-1]]) is not None:
                    path.append(nxt)
                return [self._columns[x] for x in path]
            for u in self._in.get(n, ()):
                if u not in previous and label in self._labels.get(u, ()):
                    previous[u] = n
                    queue.append(u)
        return []

    def stats(self) -> dict[str, int]:
        return {"columns": len(self._columns),
                "edges": sum(len(x) for x in self._out.values()),
                "seeds": sum(len(x) for x in self._seeds.values()),
                "labelled": len(self._labels)}
