"""The FastAPI application: wiring only. Handlers live in the route modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from dpgraph import __version__
from dpgraph.api import problems
from dpgraph.api.ingest_asgi import IngestFront
from dpgraph.api.routes_column_flow import router as column_flow_router
from dpgraph.api.routes_cypher import router as cypher_router
from dpgraph.api.routes_findings import router as findings_router
from dpgraph.api.routes_joins import router as joins_router
from dpgraph.api.routes_lineage import router as lineage_router
from dpgraph.api.routes_lineage_read import router as lineage_read_router
from dpgraph.api.routes_product_lineage import router as product_lineage_router
from dpgraph.api.routes_queries import router as queries_router
from dpgraph.api.routes_registry import router as registry_router
from dpgraph.api.routes_search import router as search_router
from dpgraph.api.routes_sparql import router as sparql_router
from dpgraph.lock import InheritedLock
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

CORE_LOG_POLL_SECONDS = 0.01  # how soon the core sees what the front appended


def create_app(settings: Settings, *, core: bool = False) -> FastAPI:
    """The service; ``core`` when it runs behind the ingest front of `dpgraph serve`
    (``api/front.py``), which holds the data directory's lock and appends lineage events
    to the log."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = (open_runtime(settings, lock=InheritedLock(settings.data_dir),
                           poll_log=CORE_LOG_POLL_SECONDS,
                           view_process=settings.cypher_process)
              if core else open_runtime(settings))
        app.state.runtime = rt
        if settings.demo:
            from dpgraph.demo import load_demo

            load_demo(rt.registry, rt.artefacts.examples, rt.lineage)
            rt.sync()  # serve once the demo is in the graph
        try:
            yield
        finally:
            rt.close()

    app = FastAPI(title="dpgraph", version=__version__, lifespan=lifespan,
                  description="Knowledge-graph metamodel, registry and lineage store for "
                              "data products.")
    problems.install(app)
    # Outermost of the app's own layers: answers the lineage POSTs before routing.
    app.add_middleware(IngestFront)
    app.include_router(registry_router)
    app.include_router(lineage_router)
    app.include_router(lineage_read_router)
    app.include_router(queries_router)
    app.include_router(sparql_router)
    app.include_router(joins_router)
    app.include_router(search_router)
    app.include_router(cypher_router)
    app.include_router(product_lineage_router)
    app.include_router(findings_router)
    app.include_router(column_flow_router)

    @app.get("/health", tags=["service"])
    def health(request: Request) -> dict[str, Any]:
        """Up, and how far each projection follows the log. A projection that cannot
        advance makes the status ``degraded`` and is named under ``stalled`` with its
        error: writes are still acknowledged (the log keeps them), reads it serves wait."""
        rt: Runtime = request.app.state.runtime
        stalled = {name: s.as_json() for name, s in (
            ("projected", rt.projection.stall.stalled),
            ("cypher", rt.cypher_view.stalled if rt.cypher_view else None)) if s}
        return {"status": "degraded" if stalled else "ok", "version": __version__,
                "store": settings.store,
                "offsets": {**rt.registry.offsets(), "search": rt.search_index.offset,
                            "cypher": rt.cypher_view.offset},
                **({"stalled": stalled} if stalled else {})}

    return app
