"""`dpgraph replay` with the service stopped: every persistent projection rebuilt from the log.

The RDF graph (with the followers that keep their state on disk: search index, lineage
summary, representation links, latest schemas) and the Cypher view are independent
projections of the same log, so they are rebuilt side by side: the Cypher view in a child
process, the graph here. One interpreter would run both on one core (the GIL), and the
machine's second core would sit idle. The in-memory indexes are not built: nothing is
served here, and the service builds them from the log when it starts.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from dpgraph.errors import DpgraphError
from dpgraph.lock import DataDirLock
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.resources import Artefacts
from dpgraph.search.index import SearchIndex
from dpgraph.services.latest_schemas import LatestSchemas
from dpgraph.services.lineage_summary import LineageSummary
from dpgraph.services.projector import Projector
from dpgraph.services.representation_links import RepresentationLinks
from dpgraph.settings import Settings
from dpgraph.store.base import open_store


def replay(settings: Settings) -> int:
    """Rebuild the graph and the Cypher view from the log; returns the records replayed."""
    lock = DataDirLock(settings.data_dir)
    lock.acquire()
    try:
        with ProcessPoolExecutor(max_workers=1,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            view = pool.submit(rebuild_cypher_view, settings)
            records = rebuild_graph(settings)
            try:
                view.result()
            except DpgraphError:
                raise
            except Exception as exc:  # the child's own error, re-raised here with its text
                raise DpgraphError(f"rebuilding the Cypher view failed: {exc}") from exc
        return records
    finally:
        lock.release()


def rebuild_graph(settings: Settings) -> int:
    log = SqliteLog(settings.data_dir / "log.sqlite")
    store = open_store(settings)
    search_index = SearchIndex(settings.data_dir / "search.sqlite")
    try:
        projector = Projector(store, log, Artefacts(settings.home).ontology, followers=[
            search_index, LineageSummary(store), RepresentationLinks(store),
            LatestSchemas(store)])
        return projector.rebuild()
    finally:
        search_index.close()
        store.close()
        log.close()


def rebuild_cypher_view(settings: Settings) -> int:
    """Run in the child process: it alone opens the Cypher backend."""
    # Imported here: the parent process never needs the Cypher engine.
    from dpgraph.cypher.base import open_backend
    from dpgraph.cypher.projection import CypherView

    log = SqliteLog(settings.data_dir / "log.sqlite")
    view = CypherView(open_backend(settings), log)
    try:
        view.rebuild()
        return view.catch_up()
    finally:
        view.close()
        log.close()
