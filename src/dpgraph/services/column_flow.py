"""Reads over the column-flow index: propagated classifications, schema drift, and the two
finding sources (``weaker-classification``, ``schema-drift``). Every read first waits until
the index holds every acknowledged write."""

from __future__ import annotations

from typing import Any

from dpgraph.errors import Finding as Problem
from dpgraph.errors import InvalidInput, NotFound
from dpgraph.findings.model import Finding
from dpgraph.lineage.naming import normalize_location, normalize_uri
from dpgraph.services.column_flow_index import ColumnFlowIndex
from dpgraph.services.projection_worker import ProjectionWorker


class ColumnFlow:
    def __init__(self, index: ColumnFlowIndex, projection: ProjectionWorker) -> None:
        self._index = index
        self._projection = projection

    def classifications(self, namespace: str | None, name: str | None,
                        location: str | None) -> dict[str, Any]:
        """Labels per field of one dataset, named by (namespace, name) or by a location."""
        if location is not None and (namespace is not None or name is not None):
            raise InvalidInput("give either location, or namespace and name", errors=[Problem(
                "violation", "location excludes namespace and name", "location",
                "classifications:one-dataset", value=location)])
        if location is not None:
            loc = normalize_uri(location)
        elif namespace is not None and name is not None:
            loc = normalize_location(namespace, name) or ""
        else:
            missing = "name" if namespace is not None else "namespace"
            raise InvalidInput("name a dataset by namespace and name, or by location",
                               errors=[Problem("violation", f"{missing} is required", missing,
                                               "classifications:dataset-named")])
        if not loc:
            raise InvalidInput("the dataset's location is empty", errors=[Problem(
                "violation", "namespace must not be empty", "namespace",
                "classifications:dataset-named", value=namespace)])
        self._projection.wait_for_log()
        return {"location": loc, "fields": self._index.columns(loc)}

    def drift(self, product_id: str) -> dict[str, Any]:
        self._projection.wait_for_log()
        reps = self._index.drift(product_id)
        if reps is None:
            raise NotFound(f"product {product_id!r} is not registered", errors=[Problem(
                "violation", f"no product {product_id!r}", "id", "drift:known-product",
                value=product_id)])
        return {"product": product_id, "drifted": any(r["drifted"] for r in reps),
                "representations": reps}

    def sources(self) -> list[WeakerClassifications | SchemaDrift]:
        """The finding sources to register with the findings service."""
        return [WeakerClassifications(self), SchemaDrift(self)]

    def weaker_classifications(self) -> list[Finding]:
        self._projection.wait_for_log()
        return self._index.weaker_classifications()

    def drift_findings(self) -> list[Finding]:
        self._projection.wait_for_log()
        return self._index.drift_findings()


class WeakerClassifications:
    """A product element registered with a lower-ranked label than one flowing into it."""

    kinds = ("weaker-classification",)

    def __init__(self, flow: ColumnFlow) -> None:
        self._flow = flow

    def findings(self) -> list[Finding]:
        return self._flow.weaker_classifications()


class SchemaDrift:
    """A representation whose latest observed schema differs from its registered attributes."""

    kinds = ("schema-drift",)

    def __init__(self, flow: ColumnFlow) -> None:
        self._flow = flow

    def findings(self) -> list[Finding]:
        return self._flow.drift_findings()
