"""Links between lineage and the metamodel, derived at query time.

A lineage dataset is linked to a registered physical representation when their normalized
locations are equal, directly or through a ``symlinks`` alias; its fields are linked to the
representation's attributes by column name, and so to data elements and business terms.
Nothing is stored for the link itself, so registering a product before or after its lineage
arrives gives the same answer.
"""

from __future__ import annotations

from typing import Any

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.registry import Registry
from dpgraph.store.base import GraphStore

_LINKS = """
SELECT DISTINCT ?repId ?location ?ds ?namespace ?name ?via WHERE {{
    GRAPH <{graph}> {{
        ?rep a dpg:PhysicalRepresentation ; dct:identifier ?repId ;
             dpg:location ?location ; dpg:normalizedLocation ?loc .
    }}
    {{ ?ds dpg:normalizedLocation ?loc . BIND ("location" AS ?via) }}
    UNION
    {{ ?alias dpg:normalizedLocation ?loc ; dpg:aliasOf ?ds . BIND ("symlink" AS ?via) }}
    ?ds a dpg:LineageDataset ; dpg:datasetName ?name ; dpg:inNamespace/dct:identifier ?namespace .
}} ORDER BY ?repId ?namespace ?name
"""

_FIELDS = """
SELECT DISTINCT ?field ?column ?element ?term ?classification WHERE {{
    VALUES ?ds {{ <{dataset}> }}
    ?ds dpg:hasField ?f . ?f dpg:fieldName ?field .
    FILTER NOT EXISTS {{ ?f dpg:subfieldOf ?parent }}
    OPTIONAL {{
        GRAPH <{graph}> {{
            <{rep}> dpg:hasAttribute ?a . ?a dpg:columnName ?column ; dpg:mapsToElement ?e .
            ?e dct:identifier ?element .
            OPTIONAL {{ ?e dpg:businessTerm ?termNode }}
            OPTIONAL {{ ?e dpg:classification ?classNode }}
        }}
        FILTER (LCASE(?column) = LCASE(?field))
        OPTIONAL {{ ?termNode dct:identifier ?term }}
        OPTIONAL {{ ?classNode skos:notation ?classification }}
    }}
}} ORDER BY ?field
"""


class LineageLinks:
    def __init__(self, store: GraphStore, registry: Registry,
                 projection: ProjectionWorker) -> None:
        self._store = store
        self._registry = registry
        self._projection = projection

    def product_datasets(self, product_id: str) -> list[dict[str, Any]]:
        """Per representation of the product: the lineage datasets that materialise it, and
        each dataset field with the attribute, data element and business term it realises."""
        self._registry.current_descriptor(product_id)  # 404 when unknown
        self._projection.wait_for_log()
        graph = iris.product_graph(product_id).value
        out = []
        for row in self._store.select(v.sparql_prefixes() + _LINKS.format(graph=graph)):
            rep = iris.representation(product_id, row["repId"].value).value
            out.append({
                "representation": row["repId"].value,
                "location": row["location"].value,
                "dataset": {"namespace": row["namespace"].value, "name": row["name"].value,
                            "nodeId": f"dataset:{row['namespace'].value}:{row['name'].value}"},
                "linkedBy": row["via"].value,
                "fields": self._fields(graph, rep, row["ds"].value),
            })
        return out

    def _fields(self, graph: str, rep: str, dataset: str) -> list[dict[str, Any]]:
        rows = self._store.select(v.sparql_prefixes() + _FIELDS.format(
            graph=graph, rep=rep, dataset=dataset))
        return [{k: (r[k].value if r[k] is not None else None)
                 for k in ("field", "column", "element", "term", "classification")}
                for r in rows]
