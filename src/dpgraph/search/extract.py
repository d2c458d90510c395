"""Log record → index change: pure functions over the stored payloads, no I/O.

- a product registration replaces every row of the product (the product, its data elements,
  the columns of its representations) and the lineage it claims (``lineage`` namespaces and
  jobs, representation locations), which the domain filter of datasets and jobs reads;
- a deprecation updates the product's status;
- a catalog registration puts its terms, domains, owners and applications (an upsert, as the
  catalog itself is);
- a lineage event merges its job and datasets, and the datasets' schema fields as columns,
  into the rows already there: one row per job, dataset or field however often seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from dpgraph.lineage.mapping import _pointer
from dpgraph.lineage.naming import normalize_location, normalize_uri
from dpgraph.log.sqlite_log import LogRecord
from dpgraph.search.model import Attribution, Change, Doc, sep

PRODUCT_REGISTERED = "product.registered"
PRODUCT_DEPRECATED = "product.deprecated"
CATALOG_REGISTERED = "catalog.registered"
LINEAGE_EVENT = "lineage.event"


def change_of(record: LogRecord) -> Change | None:
    """What the record does to the index; None for kinds the index does not hold."""
    handler = _HANDLERS.get(record.kind)
    return handler(record.payload) if handler is not None else None


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) and x.strip() else None


def _text(**fields: Any) -> dict[str, Any]:
    return {k: x for k, x in fields.items() if x}


# --- metamodel ----------------------------------------------------------------------------


def product_change(payload: dict[str, Any]) -> Change:
    d = payload["descriptor"]
    pid, domain = d["id"], d.get("domain")
    product = {"id": pid, "name": d.get("name")}
    scope = f"product:{pid}"
    status = d.get("lifecycleStatus", "active")
    docs = [Doc(f"product:{pid}", "product",
                _text(id=pid, name=d.get("name"), description=d.get("description"),
                      status=status),
                {**product, "domain": domain, "status": status}, scope, domain)]
    for e in d.get("elements", []):
        docs.append(Doc(f"element:{sep(pid, e['name'])}", "element",
                        _text(name=e["name"], title=e.get("title"),
                              description=e.get("description"),
                              businessTerm=e.get("businessTerm")),
                        {"name": e["name"], "title": e.get("title"), "product": product,
                         "businessTerm": e.get("businessTerm")}, scope, domain))
    for rep in d.get("representations", []):
        for a in rep.get("attributes", []):
            docs.append(Doc(f"column:{sep(pid, rep['id'], a['name'])}", "column",
                            _text(name=a["name"], representation=rep["id"],
                                  element=a.get("element")),
                            {"name": a["name"], "dataType": a.get("type"), "product": product,
                             "representation": rep["id"], "element": a.get("element")},
                            scope, domain))
    return Change(drop_scope=scope, put=docs,
                  attributions=(pid, domain, list(_attributions(d))))


def _attributions(d: dict[str, Any]) -> Iterator[Attribution]:
    lineage = d.get("lineage") or {}
    for ns in lineage.get("namespaces", []):
        yield Attribution("namespace", ns)
    for job in lineage.get("jobs", []):
        yield Attribution("job", sep(job["namespace"], job["name"]))
    for rep in d.get("representations", []):
        if _str(rep.get("location")):
            yield Attribution("location", normalize_uri(rep["location"]))


def deprecation_change(payload: dict[str, Any]) -> Change:
    pid, status = payload["id"], payload.get("status", "deprecated")
    return Change(merge=[Doc(f"product:{pid}", "product", {"id": pid, "status": status},
                             {"id": pid, "status": status}, f"product:{pid}")])


def catalog_change(payload: dict[str, Any]) -> Change:
    c = payload["catalog"]
    docs = [Doc(f"term:{t['id']}", "term",
                _text(id=t["id"], label=t.get("label"), definition=t.get("definition")),
                {"id": t["id"], "label": t.get("label")}, "catalog")
            for t in c.get("glossary", [])]
    docs += [Doc(f"domain:{x['id']}", "domain",
                 _text(id=x["id"], name=x.get("name"), description=x.get("description")),
                 {"id": x["id"], "name": x.get("name")}, "catalog", x["id"])
             for x in c.get("domains", [])]
    for kind, key in (("owner", "owners"), ("application", "applications")):
        docs += [Doc(f"{kind}:{x['id']}", kind,
                     _text(id=x["id"], name=x.get("name"), description=x.get("description")),
                     {"id": x["id"], "name": x.get("name")}, "catalog", x.get("domain"))
                 for x in c.get(key, [])]
    return Change(put=docs)


# --- lineage ------------------------------------------------------------------------------


def lineage_change(payload: dict[str, Any]) -> Change:
    event = payload["event"]
    invalid = frozenset(payload.get("invalidFacets", ()))
    docs: list[Doc] = []
    if isinstance(event.get("dataset"), dict) and "job" not in event:  # a DatasetEvent
        docs += _dataset_docs(event["dataset"], "/dataset/facets", invalid)
        return Change(merge=docs)
    job = event.get("job")
    if isinstance(job, dict) and _str(job.get("namespace")) and _str(job.get("name")):
        docs.append(_job_doc(job, invalid))
    for side in ("inputs", "outputs"):
        entries = event.get(side)
        for i, entry in enumerate(entries if isinstance(entries, list) else ()):
            docs += _dataset_docs(entry, f"/{side}/{i}/facets", invalid)
    return Change(merge=docs)


def _facets(holder: dict[str, Any], pointer: str, invalid: frozenset[str]
            ) -> dict[str, dict[str, Any]]:
    """The facets the graph maps too: well-formed, not failing their schema, not deleted."""
    facets = holder.get("facets")
    if not isinstance(facets, dict):
        return {}
    return {name: f for name, f in facets.items()
            if isinstance(f, dict) and f.get("_deleted") is not True
            and _pointer(pointer, name) not in invalid}


def _job_doc(job: dict[str, Any], invalid: frozenset[str]) -> Doc:
    ns, name = job["namespace"], job["name"]
    facets = _facets(job, "/job/facets", invalid)
    show = {"namespace": ns, "name": name, "nodeId": f"job:{ns}:{name}"}
    return Doc(f"job:{sep(ns, name)}", "job",
               _text(namespace=ns, name=name,
                     documentation=_str(facets.get("documentation", {}).get("description")),
                     sql=_str(facets.get("sql", {}).get("query"))),
               show, f"job:{sep(ns, name)}", namespace=ns, name=name)


def _dataset_docs(entry: Any, pointer: str, invalid: frozenset[str]) -> list[Doc]:
    if not isinstance(entry, dict):
        return []
    ns, name = _str(entry.get("namespace")), _str(entry.get("name"))
    if ns is None or name is None:
        return []
    facets = _facets(entry, pointer, invalid)
    fields = list(_schema_fields(facets.get("schema", {}).get("fields"), ""))
    location = normalize_location(ns, name)
    key = f"dataset:{sep(ns, name)}"
    dataset = {"namespace": ns, "name": name, "nodeId": f"dataset:{ns}:{name}"}
    docs = [Doc(key, "dataset",
                _text(namespace=ns, name=name, fields=tuple(p for p, _, _ in fields),
                      fieldDescriptions=tuple(d for _, _, d in fields if d),
                      documentation=_str(facets.get("documentation", {}).get("description"))),
                dataset, key, namespace=ns, name=name, location=location)]
    for path, ftype, description in fields:
        docs.append(Doc(f"column:{sep(ns, name, path)}", "column",
                        _text(name=path, dataset=name, description=description),
                        {"name": path, "dataType": ftype, "dataset": dataset,
                         "nodeId": f"datasetField:{ns}:{name}:{path}"},
                        key, namespace=ns, name=name, location=location))
    return docs


def _schema_fields(fields: Any, prefix: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(path, type, description) of each schema field, nested ones as ``parent.child``."""
    for f in fields if isinstance(fields, list) else ():
        if not isinstance(f, dict) or _str(f.get("name")) is None:
            continue
        path = f"{prefix}{f['name']}"
        yield path, _str(f.get("type")), _str(f.get("description"))
        yield from _schema_fields(f.get("fields"), f"{path}.")


_HANDLERS: dict[str, Callable[[dict[str, Any]], Change]] = {
    PRODUCT_REGISTERED: product_change,
    PRODUCT_DEPRECATED: deprecation_change,
    CATALOG_REGISTERED: catalog_change,
    LINEAGE_EVENT: lineage_change,
}
