"""Wires settings into the running parts: lock, log, store, gate, services."""

from __future__ import annotations

from dataclasses import dataclass

from dpgraph.cypher.base import open_backend
from dpgraph.cypher.projection import CypherView
from dpgraph.cypher.service import CypherQueries
from dpgraph.lineage.validation import EventValidator
from dpgraph.lock import DataDirLock
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.resources import Artefacts
from dpgraph.services.lineage import LineageReceiver
from dpgraph.services.lineage_index import LineageIndex
from dpgraph.services.lineage_links import LineageLinks
from dpgraph.services.lineage_read import LineageReader
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.projector import Projector
from dpgraph.services.registry import Registry
from dpgraph.settings import Settings
from dpgraph.store.base import GraphStore, open_store
from dpgraph.validation.gate import RegistrationGate


@dataclass
class Runtime:
    settings: Settings
    lock: DataDirLock
    log: SqliteLog
    store: GraphStore
    registry: Registry
    projector: Projector
    artefacts: Artefacts
    projection: ProjectionWorker
    lineage: LineageReceiver
    lineage_read: LineageReader
    links: LineageLinks
    lineage_index: LineageIndex | None = None
    cypher_view: CypherView | None = None
    cypher: CypherQueries | None = None

    def sync(self) -> None:
        """Wait until the graph holds every write acknowledged so far."""
        self.projection.wait_for_log()

    def close(self) -> None:
        self.projection.stop()
        if self.cypher_view is not None:
            self.cypher_view.close()
        self.store.close()
        self.log.close()
        self.lock.release()


def open_runtime(settings: Settings, *, catch_up: bool = True) -> Runtime:
    """Take the data directory, open log and store, and project what the log has ahead."""
    lock = DataDirLock(settings.data_dir)
    lock.acquire()
    try:
        log = SqliteLog(settings.data_dir / "log.sqlite")
        store = open_store(settings.store, settings.data_dir)
        view = CypherView(open_backend(settings), log)
    except BaseException:
        lock.release()
        raise
    artefacts = Artefacts(settings.home)
    index = LineageIndex()
    index.load(log)  # the current lineage adjacency, from every event of the log
    projector = Projector(store, log, artefacts.ontology, index, views=[view])
    if catch_up:
        projector.bootstrap()
        view.bootstrap()
        view.catch_up()  # the view may lag the graph (a crash between their commits)
        projector.catch_up()
    worker = ProjectionWorker(projector, log)
    worker.start()
    registry = Registry(store, log, RegistrationGate(artefacts), worker)
    lineage = LineageReceiver(log, EventValidator(), worker)
    links = LineageLinks(store, registry, worker)
    return Runtime(settings, lock, log, store, registry, projector, artefacts, worker, lineage,
                   LineageReader(store, worker, index), links, index, view,
                   CypherQueries(view, log, timeout=settings.cypher_timeout))
