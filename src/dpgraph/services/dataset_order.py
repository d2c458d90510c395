"""An integer per lineage dataset that sorts as its ``namespace:name`` does.

pyoxigraph has no top-k sort: ``ORDER BY`` on a string decodes both terms of every
comparison, so returning the first 1,000 of 240,000 datasets by name took 5-6 s at 10,000
products (19 s on the stored names). Integers are stored inline in the term, and sorting them
costs no lookup: a query sorts the integers, cuts, and reads the names of the rows it keeps.

The integers are an order-maintenance labelling, kept by hand because no library keeps one
in a store: a new dataset takes a label between its neighbours' (a fixed step past the last
one when it sorts last, the usual case for generated names), and when two neighbours have no
integer left between them, the smallest window around the new one with room for it is spread
evenly again. Labels depend only on the sequence of datasets added, in log order, so a
replay writes the same labels as the live projection did.

The sorted keys are held in memory (lists of keys, labels and datasets in key order), loaded
from the store the first time a new dataset arrives; a failed write drops them, so that the
next batch starts again from what the store holds.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from pyoxigraph import NamedNode

from dpgraph import vocab as v
from dpgraph.store.base import GraphStore, graph_holds

TOP = 1 << 62  # labels lie in [0, TOP): an xsd:integer within oxigraph's 64-bit integers
STEP = 1 << 32  # the gap left after a label appended at the end (or before, at the start)
SPACING = 1 << 16  # the room a respread window leaves between neighbours


def sort_key(namespace: str, name: str) -> str:
    """The string the datasets are ordered by, as the named queries show them."""
    return f"{namespace}:{name}"


class DatasetOrder:
    def __init__(self, store: GraphStore, graph: NamedNode) -> None:
        self._store = store
        self._graph = graph
        self._keys: list[str] | None = None  # None: not loaded (or dropped after a failure)
        self._labels: list[int] = []
        self._datasets: list[str] = []

    def add(self, datasets: Sequence[tuple[NamedNode, str]]) -> None:
        """Label the datasets among ``(dataset, sort key)`` not labelled yet, in this order."""
        if not datasets:
            return
        if self._keys is None:
            self._load()
        changed: dict[str, int] = {}  # dataset -> its new label
        previous: dict[str, int] = {}  # dataset -> the label the store holds for it
        keys = self._keys
        assert keys is not None
        try:
            for dataset, key in datasets:
                # Equal keys are rare but possible: "a:b" + "c" and "a" + "b:c". A new one
                # goes after them, in order of arrival.
                first, after = bisect_left(keys, key), bisect_right(keys, key)
                if dataset.value not in self._datasets[first:after]:
                    self._insert(dataset.value, key, after, changed, previous)
            if changed:
                self._store.update(self._write(changed, previous))
        except BaseException:
            self._keys = None  # in memory ahead of the store: read it again next time
            raise

    def clear(self) -> None:
        """The store was cleared with the graph (a rebuild): no dataset is labelled."""
        self._keys, self._labels, self._datasets = [], [], []

    def backfill(self) -> None:
        """Label the summary's datasets when none is (a store from before the labels)."""
        if graph_holds(self._store, self._graph, v.NAME_ORDER) or not graph_holds(
                self._store, self._graph, v.DATASET_NAME):
            return
        rows = self._store.select(self._named_datasets(labelled=False))
        found = sorted((sort_key(r["namespace"].value, r["name"].value), r["ds"].value)
                       for r in rows)  # type: ignore[union-attr]
        self.add([(NamedNode(ds), key) for key, ds in found])

    def _load(self) -> None:
        rows = self._store.select(self._named_datasets(labelled=True))
        held = sorted((int(r["label"].value), sort_key(r["namespace"].value, r["name"].value),
                       r["ds"].value) for r in rows)  # type: ignore[union-attr]
        self._labels = [label for label, _, _ in held]
        self._keys = [key for _, key, _ in held]
        self._datasets = [ds for _, _, ds in held]

    def _named_datasets(self, *, labelled: bool) -> str:
        """The summary's datasets with their names (and labels: only those labelled)."""
        label = f"<{v.NAME_ORDER.value}> ?label ;" if labelled else ""
        return f"""SELECT ?ds ?name ?namespace {"?label" if labelled else ""} WHERE {{
            GRAPH <{self._graph.value}> {{ ?ds {label} <{v.DATASET_NAME.value}> ?name ;
                <{v.IN_NAMESPACE.value}> ?ns . ?ns <{v.DCT_IDENTIFIER.value}> ?namespace }} }}"""

    def _insert(self, dataset: str, key: str, i: int, changed: dict[str, int],
                previous: dict[str, int]) -> None:
        keys, labels = self._keys, self._labels
        assert keys is not None
        n = len(keys)
        below = labels[i - 1] if i else -1
        above = labels[i] if i < n else TOP
        keys.insert(i, key)
        self._datasets.insert(i, dataset)
        if above - below >= 2:
            middle = (below + above) // 2
            label = (min(below + STEP, middle) if i == n
                     else max(above - STEP, middle) if i == 0 else middle)
            labels.insert(i, label)
            changed[dataset] = label
            return
        labels.insert(i, -1)  # respread below
        self._respread(i, changed, previous)

    def _respread(self, i: int, changed: dict[str, int], previous: dict[str, int]) -> None:
        """Spread the labels of the smallest window around index ``i`` (growing by doubling)
        whose bounds leave ``SPACING`` per label, or of every dataset."""
        labels, datasets = self._labels, self._datasets
        n = len(labels)
        half = 1
        while True:
            lo, hi = max(0, i - half), min(n, i + half + 1)
            floor = labels[lo - 1] if lo else -1
            ceiling = labels[hi] if hi < n else TOP
            if ceiling - floor >= (hi - lo + 1) * SPACING or (lo == 0 and hi == n):
                break
            half *= 2
        step = (ceiling - floor) // (hi - lo + 1)
        for j in range(lo, hi):
            dataset, label = datasets[j], floor + step * (j - lo + 1)
            if labels[j] != label:
                if labels[j] >= 0 and dataset not in changed:
                    previous[dataset] = labels[j]  # stored before this batch
                labels[j] = label
                changed[dataset] = label

    def _write(self, changed: dict[str, int], previous: dict[str, int]) -> str:
        """One update, so that a batch's labels land whole or not at all."""
        g, p = self._graph.value, v.NAME_ORDER.value
        old = " ".join(f"<{ds}> <{p}> {label} ." for ds, label in previous.items())
        new = " ".join(f"<{ds}> <{p}> {label} ." for ds, label in changed.items())
        delete = f"DELETE DATA {{ GRAPH <{g}> {{ {old} }} }} ;\n" if old else ""
        return f"{delete}INSERT DATA {{ GRAPH <{g}> {{ {new} }} }}"
