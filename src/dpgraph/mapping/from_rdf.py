"""Read a product registered as RDF (Turtle, JSON-LD, N-Triples) into a descriptor.

RDF-native teams describe their product with the dpgraph vocabulary; this is the inverse of
``mapping.product``. Nodes may use any IRIs or blank nodes: each is named by its
``dct:identifier`` (element name, representation id…), and the registration then goes
through the same descriptor → RDF → SHACL path as YAML, so every product in the store has
one canonical shape. Triples outside the vocabulary are not kept (documented in README).
"""

from __future__ import annotations

from typing import Any

from pyoxigraph import NamedNode, RdfFormat, Store

from dpgraph import vocab as v
from dpgraph.descriptor import ProductDescriptor
from dpgraph.errors import Finding, InvalidInput, InvalidRegistration
from dpgraph.services.parsing import validate_model

_P = v.sparql_prefixes()


def _notation(mapping: dict[str, NamedNode]) -> dict[str, str]:
    return {iri.value: key for key, iri in mapping.items()}


_LIFECYCLE = _notation(v.LIFECYCLE)
_LAYER = _notation(v.STORAGE_LAYERS)
_HIST = _notation(v.HISTORIZATIONS)
_PORT_KIND = _notation(v.PORT_KINDS)
_VISIBILITY = _notation(v.VISIBILITIES)
_CLASS = _notation(v.CLASSIFICATIONS)
_JOIN = _notation(v.JOIN_KINDS)
_METRIC = _notation(v.QUALITY_METRICS)


def _id(term: Any) -> str | None:
    """The id of a referenced entity: its last IRI segment (…/domain/sales → sales)."""
    if term is None:
        return None
    return str(term.value).rstrip("/").rsplit("/", 1)[-1]


def _val(term: Any) -> str | None:
    return None if term is None else str(term.value)


class _Reader:
    def __init__(self, store: Store) -> None:
        self._store = store

    def rows(self, where: str, *names: str) -> list[dict[str, Any]]:
        result = self._store.query(f"{_P}SELECT * WHERE {{ {where} }}")
        return [{n: row[n] for n in names} for row in result]  # type: ignore[union-attr]

    def one(self, node: str, prop: NamedNode) -> Any:
        rows = self.rows(f"{node} <{prop.value}> ?x", "x")
        return rows[0]["x"] if rows else None


def product_from_rdf(body: bytes, media: str) -> ProductDescriptor:
    fmt = RdfFormat.from_media_type(media)
    store = Store()
    try:
        store.load(body, format=fmt)
    except (SyntaxError, ValueError, OSError) as exc:
        raise InvalidInput(f"body is not valid {media}: {exc}") from exc
    r = _Reader(store)
    products = r.rows("?p a dpg:DataProduct", "p")
    if len(products) != 1:
        raise InvalidRegistration(
            f"the RDF must describe exactly one dpg:DataProduct, found {len(products)}",
            errors=[Finding("violation", "type one node `a dpg:DataProduct`", "",
                            "rdf:one-product")])
    p = products[0]["p"]
    node = str(p) if isinstance(p, NamedNode) else f"<{p.value}>"
    node = f"<{p.value}>" if isinstance(p, NamedNode) else str(p)
    return validate_model(ProductDescriptor, _product_doc(r, node))


def _product_doc(r: _Reader, p: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": _val(r.one(p, v.DCT_IDENTIFIER)),
        "name": _val(r.one(p, v.DCT_TITLE)),
        "description": _val(r.one(p, v.DCT_DESCRIPTION)),
        "domain": _id(r.one(p, v.DPROD_DOMAIN)),
        "owner": _id(r.one(p, v.DPROD_OWNER)),
        "sourceApplication": _id(r.one(p, v.GOLDEN_SOURCE)),
        "lifecycleStatus": _LIFECYCLE.get(_val(r.one(p, v.DPROD_LIFECYCLE_STATUS)) or "",
                                          "active"),
        "version": _val(r.one(p, v.DCAT_VERSION)),
        "elements": _elements(r, p),
        "representations": _representations(r, p),
        "outputPorts": _ports(r, p),
        "qualityRules": _quality_rules(r, p),
        "joinKeys": _join_keys(r, p),
        "referenceMappings": _reference_mappings(r, p),
        "lineage": _lineage(r, p),
    }
    contract = _contract(r, p)
    if contract:
        doc["contract"] = contract
    return _drop_none(doc)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(x) for k, x in value.items() if x is not None}
    if isinstance(value, list):
        return [_drop_none(x) for x in value]
    return value


def _elements(r: _Reader, p: str) -> list[dict[str, Any]]:
    rows = r.rows(f"""{p} dpg:hasDataElement ?e . ?e dct:identifier ?name .
        OPTIONAL {{ ?e dct:title ?title }} OPTIONAL {{ ?e dct:description ?d }}
        OPTIONAL {{ ?e dpg:businessTerm ?term }} OPTIONAL {{ ?e dpg:classification ?c }}
        OPTIONAL {{ ?e dpg:dataType ?type }}""", "name", "title", "d", "term", "c", "type")
    return [{"name": _val(x["name"]), "title": _val(x["title"]), "description": _val(x["d"]),
             "businessTerm": _id(x["term"]),
             "classification": _CLASS.get(_val(x["c"]) or "") or _id(x["c"]),
             "dataType": _val(x["type"])} for x in sorted(rows, key=lambda x: x["name"].value)]


def _element_name(r: _Reader, term: Any) -> str | None:
    if term is None:
        return None
    node = f"<{term.value}>" if isinstance(term, NamedNode) else str(term)
    return _val(r.one(node, v.DCT_IDENTIFIER)) or _id(term)


def _representations(r: _Reader, p: str) -> list[dict[str, Any]]:
    out = []
    for x in r.rows(f"{p} dpg:hasRepresentation ?r . ?r dct:identifier ?id", "r", "id"):
        node = f"<{x['r'].value}>" if isinstance(x["r"], NamedNode) else str(x["r"])
        attrs = r.rows(f"""{node} dpg:hasAttribute ?a . ?a dpg:columnName ?name .
            OPTIONAL {{ ?a dpg:dataType ?type }} OPTIONAL {{ ?a dpg:mapsToElement ?e }}""",
                       "name", "type", "e")
        out.append({
            "id": _val(x["id"]), "kind": _val(r.one(node, v.REPRESENTATION_KIND)),
            "location": _val(r.one(node, v.LOCATION)), "format": _val(r.one(node, v.FORMAT)),
            "storageLayer": _LAYER.get(_val(r.one(node, v.STORAGE_LAYER_OF)) or ""),
            "historization": _HIST.get(_val(r.one(node, v.HISTORIZATION)) or ""),
            "attributes": [{"name": _val(a["name"]), "type": _val(a["type"]),
                            "element": _element_name(r, a["e"])}
                           for a in sorted(attrs, key=lambda a: a["name"].value)],
        })
    return sorted(out, key=lambda x: x["id"])


def _ports(r: _Reader, p: str) -> list[dict[str, Any]]:
    rows = r.rows(f"""{p} dprod:outputPort ?o . ?o dct:identifier ?id .
        OPTIONAL {{ ?o dpg:portKind ?k }} OPTIONAL {{ ?o dpg:visibility ?vis }}
        OPTIONAL {{ ?o dpg:exposes ?rep . ?rep dct:identifier ?repId }}
        OPTIONAL {{ ?o dpg:endpoint ?end }} OPTIONAL {{ ?o dct:description ?d }}""",
                  "id", "k", "vis", "repId", "end", "d")
    return [{"id": _val(x["id"]), "kind": _PORT_KIND.get(_val(x["k"]) or ""),
             "visibility": _VISIBILITY.get(_val(x["vis"]) or ""),
             "representation": _val(x["repId"]), "endpoint": _val(x["end"]),
             "description": _val(x["d"])} for x in sorted(rows, key=lambda x: x["id"].value)]


def _contract(r: _Reader, p: str) -> dict[str, Any] | None:
    rows = r.rows(f"""{p} dpg:hasContract ?c .
        OPTIONAL {{ ?c dcat:version ?ver }} OPTIONAL {{ ?c dpg:refreshCycle ?rc }}
        OPTIONAL {{ ?c dpg:serviceLevelObjective ?slo }} OPTIONAL {{ ?c dpg:termsOfUse ?tou }}
        OPTIONAL {{ ?c dpg:validUntil ?until }}""", "ver", "rc", "slo", "tou", "until")
    if not rows:
        return None
    x = rows[0]
    return {"version": _val(x["ver"]), "refreshCycle": _val(x["rc"]),
            "serviceLevel": _val(x["slo"]), "termsOfUse": _val(x["tou"]),
            "validUntil": _val(x["until"])}


def _quality_rules(r: _Reader, p: str) -> list[dict[str, Any]]:
    rows = r.rows(f"""{p} dpg:hasQualityRule ?q . ?q dct:identifier ?id .
        OPTIONAL {{ ?q dpg:metric ?m }} OPTIONAL {{ ?q dpg:threshold ?t }}
        OPTIONAL {{ ?q dpg:comparator ?cmp }} OPTIONAL {{ ?q dpg:onElement ?e }}
        OPTIONAL {{ ?q dct:description ?d }}""", "id", "m", "t", "cmp", "e", "d")
    return [{"id": _val(x["id"]), "metric": _METRIC.get(_val(x["m"]) or ""),
             "threshold": float(x["t"].value) if x["t"] is not None else None,
             "comparator": _val(x["cmp"]) or ">=", "element": _element_name(r, x["e"]),
             "description": _val(x["d"])} for x in sorted(rows, key=lambda x: x["id"].value)]


def _join_keys(r: _Reader, p: str) -> list[dict[str, Any]]:
    rows = r.rows(f"""{p} dpg:hasJoinKey ?k . ?k dpg:fromElement ?from ; dpg:toElement ?to .
        OPTIONAL {{ ?k dpg:joinKind ?kind }} OPTIONAL {{ ?k dct:description ?d }}""",
                  "from", "to", "kind", "d")
    out = []
    for x in rows:
        # …/product/<product>/element/<name>: the target is named by its IRI.
        target = x["to"].value.split("/")
        out.append({"element": _element_name(r, x["from"]),
                    "references": {"product": target[-3], "element": target[-1]},
                    "kind": _JOIN.get(_val(x["kind"]) or "", "foreign-key"),
                    "description": _val(x["d"])})
    return sorted(out, key=lambda x: (x["element"] or "", x["references"]["product"]))


def _reference_mappings(r: _Reader, p: str) -> list[dict[str, Any]]:
    rows = r.rows(f"""{p} dpg:hasReferenceMapping ?m . ?m dpg:onElement ?e ;
        dpg:referenceList ?list ; dpg:localValue ?local ; dpg:enterpriseValue ?value .""",
                  "e", "list", "local", "value")
    grouped: dict[tuple[str, str], dict[str, str]] = {}
    for x in rows:
        key = (_element_name(r, x["e"]) or "", _id(x["list"]) or "")
        grouped.setdefault(key, {})[x["local"].value] = _id(x["value"]) or ""
    return [{"element": e, "referenceList": lst, "values": vals}
            for (e, lst), vals in sorted(grouped.items())]


def _lineage(r: _Reader, p: str) -> dict[str, Any]:
    namespaces = sorted(x["ns"].value for x in r.rows(f"{p} dpg:producedByNamespace ?ns", "ns"))
    jobs = r.rows(f"{p} dpg:producedByJob ?j . ?j dpg:jobNamespace ?ns ; dpg:jobName ?name",
                  "ns", "name")
    return {"namespaces": namespaces,
            "jobs": sorted(({"namespace": j["ns"].value, "name": j["name"].value} for j in jobs),
                           key=lambda j: (j["namespace"], j["name"]))}
