"""HTTP resources for product and reference-entity registration. Parse, call, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pyoxigraph import serialize

from dpgraph import vocab as v
from dpgraph.api.deps import read_body, runtime
from dpgraph.api.media import JSON, RDF_MEDIA_TYPES, negotiate, rdf_format
from dpgraph.descriptor import CatalogDescriptor, ProductDescriptor
from dpgraph.runtime import Runtime
from dpgraph.services.parsing import parse_catalog, parse_product

router = APIRouter(prefix="/api/v1")
Rt = Annotated[Runtime, Depends(runtime)]
Body = Annotated[bytes, Depends(read_body)]
DESCRIPTOR_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"$ref": "#/components/schemas/ProductDescriptor"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/ProductDescriptor"}},
            "text/turtle": {"schema": {"type": "string"}},
            "application/ld+json": {"schema": {"type": "object"}},
            "application/n-triples": {"schema": {"type": "string"}},
        },
    }
}


class Deprecation(BaseModel):
    reason: str | None = Field(None, description="why consumers should move away")
    successor: str | None = Field(None, description="id of the product that replaces it")
    status: str = Field("deprecated", pattern="^(deprecated|retired)$")


@router.get("/schemas/product", tags=["schemas"])
def product_schema() -> dict[str, Any]:
    """JSON Schema of dataproduct.yaml."""
    return ProductDescriptor.model_json_schema()


@router.get("/schemas/catalog", tags=["schemas"])
def catalog_schema() -> dict[str, Any]:
    """JSON Schema of catalog.yaml (reference entities)."""
    return CatalogDescriptor.model_json_schema()


@router.post("/products", tags=["products"], openapi_extra=DESCRIPTOR_BODY,
             responses={422: {"description": "refused: report of violations and warnings"}})
def register_product(rt: Rt, body: Body, content_type: Annotated[str | None, Header()] = None,
                     dry_run: bool = False) -> JSONResponse:
    """Validate a product descriptor (YAML, JSON, Turtle or JSON-LD) and register it."""
    outcome = rt.registry.register_product(parse_product(body, content_type), dry_run=dry_run)
    status = 200 if dry_run or outcome.unchanged else 201
    return JSONResponse(outcome.as_dict(), status_code=status)


@router.get("/products", tags=["products"])
def list_products(rt: Rt) -> list[dict[str, Any]]:
    return rt.registry.list_products()


@router.get("/products/{product_id}", tags=["products"],
            responses={200: {"content": {m: {} for m in (JSON, *RDF_MEDIA_TYPES)}}})
def get_product(rt: Rt, product_id: str,
                accept: Annotated[str | None, Header()] = None) -> Response:
    """The current registration: descriptor JSON, or its named graph as RDF by Accept."""
    media = negotiate(accept, (JSON, *RDF_MEDIA_TYPES))
    if media == JSON:
        return JSONResponse(rt.registry.current_descriptor(product_id))
    triples = rt.registry.product_graph(product_id)
    body = serialize(triples, format=rdf_format(media), prefixes=v.PREFIXES)
    return Response(body, media_type=media)


@router.get("/products/{product_id}/versions", tags=["products"])
def product_versions(rt: Rt, product_id: str) -> list[dict[str, Any]]:
    """Every registration and deprecation of the product, oldest first, from the log."""
    return rt.registry.versions(product_id)


@router.get("/products/{product_id}/versions/{offset}", tags=["products"])
def product_version(rt: Rt, product_id: str, offset: int) -> dict[str, Any]:
    return rt.registry.version(product_id, offset)


@router.get("/products/{product_id}/datasets", tags=["products", "lineage"])
def product_datasets(rt: Rt, product_id: str) -> list[dict[str, Any]]:
    """Lineage datasets that materialise the product's representations (same normalized
    location, directly or through a symlink), with field → attribute → element → term."""
    return rt.links.product_datasets(product_id)


@router.post("/products/{product_id}/deprecation", tags=["products"], status_code=201)
def deprecate_product(rt: Rt, product_id: str, body: Deprecation) -> dict[str, Any]:
    """Deprecate (or retire) instead of deleting: the product stays visible with its reason."""
    outcome = rt.registry.deprecate(product_id, reason=body.reason, successor=body.successor,
                                    status=body.status)
    return outcome.as_dict()


@router.post("/catalog", tags=["catalog"],
             responses={422: {"description": "refused: report of violations and warnings"}})
def register_catalog(rt: Rt, body: Body, content_type: Annotated[str | None, Header()] = None,
                     dry_run: bool = False) -> JSONResponse:
    """Register reference entities (domains, owners, applications, glossary, labels, lists)."""
    outcome = rt.registry.register_catalog(parse_catalog(body, content_type), dry_run=dry_run)
    status = 200 if dry_run or outcome.unchanged else 201
    return JSONResponse(outcome.as_dict(), status_code=status)


@router.get("/catalog", tags=["catalog"])
def get_catalog(rt: Rt) -> dict[str, Any]:
    return rt.registry.catalog()



