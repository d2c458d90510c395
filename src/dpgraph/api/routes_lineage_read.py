"""Marquez-shaped lineage reads: graphs, namespaces, jobs, datasets, runs. Parse, call,
render.

Namespaces and names are sent URL-encoded (``s3%3A%2F%2Fbucket``); the server decodes
``%2F`` before routing, so the path parameters take slashes (``:path``) and each handler
re-reads the segments from the raw path, where encoded slashes are still one segment.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request

from dpgraph.api.deps import runtime
from dpgraph.errors import NotFound
from dpgraph.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["lineage graph"])
Rt = Annotated[Runtime, Depends(runtime)]
NodeId = Annotated[str, Query(description="dataset:NAMESPACE:NAME, job:NAMESPACE:NAME or "
                                          "datasetField:NAMESPACE:NAME:FIELD")]
Depth = Annotated[int, Query(ge=0, le=1000, description="edges from the node")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
NAMESPACES = "/api/v1/namespaces/"


@router.get("/lineage")
def get_lineage(rt: Rt, nodeId: NodeId, depth: Depth = 20,
                asOf: Annotated[str | None, Query(
                    description="ISO 8601 time: the graph as of then")] = None
                ) -> dict[str, Any]:
    """Jobs and datasets up- and downstream of a node (current job versions; aliases
    resolved). Edges carry the first and last time an event reported them."""
    return rt.lineage_read.lineage(nodeId, depth, asOf)


@router.get("/column-lineage")
def get_column_lineage(rt: Rt, nodeId: NodeId, depth: Depth = 20,
                       withDownstream: bool = False) -> dict[str, Any]:
    """Field derivations upstream of a dataset's fields or of one field (and downstream)."""
    return rt.lineage_read.column_lineage(nodeId, depth, withDownstream)


@router.get("/namespaces")
def list_namespaces(rt: Rt) -> dict[str, Any]:
    return rt.lineage_read.namespaces()


def _segments(request: Request) -> list[str]:
    """The path segments after /namespaces/, each percent-decoded on its own."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    rest = path[path.index(NAMESPACES) + len(NAMESPACES):] if NAMESPACES in path else ""
    return [unquote(s) for s in rest.split("/")]


def _namespace_resource(rt: Runtime, request: Request, limit: int, offset: int
                        ) -> dict[str, Any]:
    read = rt.lineage_read
    match _segments(request):
        case [ns]:
            return read.namespace(ns)
        case [ns, "jobs"]:
            return read.jobs(ns, limit, offset)
        case [ns, "jobs", job]:
            return read.job(ns, job)
        case [ns, "jobs", job, "runs"]:
            return read.job_runs(ns, job, limit, offset)
        case [ns, "datasets"]:
            return read.datasets(ns, limit, offset)
        case [ns, "datasets", ds]:
            return read.dataset(ns, ds)
        case [ns, "datasets", ds, "versions"]:
            return read.dataset_versions(ns, ds, limit, offset)
    raise NotFound(f"no resource at {request.url.path}; encode '/' in names as %2F")


@router.get("/namespaces/{namespace:path}/jobs/{job:path}/runs")
def list_job_runs(rt: Rt, request: Request, namespace: str, job: str, limit: Limit = 100,
                  offset: Offset = 0) -> dict[str, Any]:
    """Runs of a job, newest first."""
    return _namespace_resource(rt, request, limit, offset)


@router.get("/namespaces/{namespace:path}/jobs/{job:path}")
def get_job(rt: Rt, request: Request, namespace: str, job: str) -> dict[str, Any]:
    """A job: current inputs and outputs, latest run, facets, parent job."""
    return _namespace_resource(rt, request, 1, 0)


@router.get("/namespaces/{namespace:path}/jobs")
def list_jobs(rt: Rt, request: Request, namespace: str, limit: Limit = 100,
              offset: Offset = 0) -> dict[str, Any]:
    return _namespace_resource(rt, request, limit, offset)


@router.get("/namespaces/{namespace:path}/datasets/{dataset:path}/versions")
def list_dataset_versions(rt: Rt, request: Request, namespace: str, dataset: str,
                          limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """One version per run that wrote the dataset, newest first, with the fields it saw."""
    return _namespace_resource(rt, request, limit, offset)


@router.get("/namespaces/{namespace:path}/datasets/{dataset:path}")
def get_dataset(rt: Rt, request: Request, namespace: str, dataset: str) -> dict[str, Any]:
    """A dataset (with its aliases): fields of the latest schema, facets, times."""
    return _namespace_resource(rt, request, 1, 0)


@router.get("/namespaces/{namespace:path}/datasets")
def list_datasets(rt: Rt, request: Request, namespace: str, limit: Limit = 100,
                  offset: Offset = 0) -> dict[str, Any]:
    return _namespace_resource(rt, request, limit, offset)


@router.get("/namespaces/{namespace:path}")
def get_namespace(rt: Rt, request: Request, namespace: str) -> dict[str, Any]:
    return _namespace_resource(rt, request, 1, 0)


@router.get("/jobs/runs/{run_id}")
def get_run(rt: Rt, run_id: str) -> dict[str, Any]:
    """A run: state and times from all its events, job version, parent run, datasets,
    facets."""
    return rt.lineage_read.run(run_id)
