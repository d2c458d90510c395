"""Turn a request body into a descriptor, by media type. Errors name the field and rule."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.errors import Finding, InvalidInput, InvalidRegistration, UnsupportedMediaType

YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
JSON_TYPES = {"application/json"}
RDF_TYPES = {"text/turtle", "application/ld+json", "application/n-triples"}

M = TypeVar("M", bound=BaseModel)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def load_document(body: bytes, content_type: str | None) -> dict[str, Any]:
    kind = media_type(content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"body is not UTF-8 text (byte {exc.start})") from exc
    if kind in JSON_TYPES:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"body is not JSON: {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}") from exc
    elif kind in YAML_TYPES:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise InvalidInput(f"body is not YAML{where}") from exc
    else:
        accepted = ", ".join(sorted(YAML_TYPES | JSON_TYPES | RDF_TYPES))
        raise UnsupportedMediaType(f"Content-Type {kind or '(none)'!r} is not accepted; "
                                   f"use one of: {accepted}")
    if not isinstance(doc, dict):
        raise InvalidInput("the document must be a mapping (an object) at the top level")
    return doc


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_model(model: type[M], doc: dict[str, Any]) -> M:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        findings = [
            Finding("violation", f"{_loc(e['loc']) or 'document'}: {e['msg']}",
                    _loc(e["loc"]), f"schema:{e['type']}",
                    value=None if isinstance(e.get("input"), dict | list) else
                    str(e.get("input")))
            for e in exc.errors(include_url=False)
        ]
        raise InvalidRegistration(
            f"the {model.__name__.removesuffix('Descriptor').lower()} descriptor does not "
            f"follow the published JSON Schema ({len(findings)} problem(s))",
            errors=findings) from exc


def parse_product(body: bytes, content_type: str | None) -> ProductDescriptor:
    if media_type(content_type) in RDF_TYPES:
        from dpgraph.mapping.from_rdf import product_from_rdf

        return product_from_rdf(body, media_type(content_type))
    return validate_model(ProductDescriptor, load_document(body, content_type))


def parse_catalog(body: bytes, content_type: str | None) -> CatalogDescriptor:
    return validate_model(CatalogDescriptor, load_document(body, content_type))
