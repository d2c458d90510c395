"""Wires settings into the running parts: lock, log, store, gate, services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from dpgraph.collector import collect_young_less_often, spare_long_lived_objects
from dpgraph.cypher.base import default_cache_mb, open_backend
from dpgraph.cypher.projection import CypherView, forget_too_large_record
from dpgraph.cypher.service import CypherQueries
from dpgraph.cypher.view_process import ViewProcess
from dpgraph.lineage.validation import EventValidator
from dpgraph.lock import DataDirLock
from dpgraph.log.sqlite_log import LogRecord, SqliteLog
from dpgraph.resources import Artefacts
from dpgraph.search.index import SearchIndex
from dpgraph.services.column_flow import ColumnFlow
from dpgraph.services.column_flow_index import ColumnFlowIndex
from dpgraph.services.column_lineage_index import ColumnLineageIndex
from dpgraph.services.findings import Findings
from dpgraph.services.job_catalog import JobCatalog
from dpgraph.services.join_index import JoinIndex
from dpgraph.services.join_keys import JoinKeys
from dpgraph.services.latest_schemas import LatestSchemas
from dpgraph.services.lineage import LineageReceiver
from dpgraph.services.lineage_index import LineageIndex
from dpgraph.services.lineage_links import LineageLinks
from dpgraph.services.lineage_read import LineageReader
from dpgraph.services.lineage_summary import LineageSummary
from dpgraph.services.named_queries import NamedQueries
from dpgraph.services.product_lineage import PrincipleFindings, ProductLineageService
from dpgraph.services.product_lineage_index import ProductLineageIndex
from dpgraph.services.projection_worker import ProjectionWorker
from dpgraph.services.projector import Follower, Projector
from dpgraph.services.registry import Registry
from dpgraph.services.representation_links import RepresentationLinks
from dpgraph.services.search import SearchService
from dpgraph.services.sparql import QueryLimits, SparqlService
from dpgraph.services.store_compaction import StoreCompaction
from dpgraph.settings import Settings
from dpgraph.store.base import GraphStore, open_store
from dpgraph.validation.gate import RegistrationGate

# The view's process past its page cache: the engine's own structures and what it did not
# give back. Under a steady load of fresh runs a process restarted at 256 MiB over a 512 MiB
# cache holds ~200 MiB again and climbs back in about a minute (README, "Memory under live
# load, a third time"); a restart costs the reads in flight a wait, nothing else. It happens
# only after the view advanced, so a bound below what opening takes cannot loop.
VIEW_MEMORY_ABOVE_CACHE_MB = 256


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
    search_index: SearchIndex
    search: SearchService
    lineage_index: LineageIndex | None = None
    queries: NamedQueries | None = None
    joins: JoinKeys | None = None
    cypher_view: CypherView | ViewProcess | None = None
    cypher: CypherQueries | None = None
    product_lineage: ProductLineageService | None = None
    findings: Findings | None = None
    column_flow: ColumnFlow | None = None
    compaction: StoreCompaction | None = None

    @cached_property
    def sparql(self) -> SparqlService:
        return SparqlService(self.store, self.projection,
                             QueryLimits(timeout=self.settings.sparql_timeout))

    def sync(self) -> None:
        """Wait until the graph holds every write acknowledged so far."""
        self.projection.wait_for_log()

    def close(self) -> None:
        self.lineage.close()  # acknowledges what is queued before the log closes
        self.projection.stop()
        if self.compaction is not None:
            self.compaction.wait()  # the store cannot close under a running compaction
        self.search_index.close()
        if self.cypher_view is not None:
            self.cypher_view.close()
        self.store.close()
        self.log.close()
        self.lock.release()


def _load_in_memory(log: SqliteLog, lineage: LineageIndex, *followers: Follower,
                    page: int = 1000) -> None:
    """Fill the in-memory indexes from the whole log in one pass over it."""
    batch: list[LogRecord] = []
    for record in log.read():
        batch.append(record)
        if len(batch) >= page:
            _feed(batch, lineage, followers)
            batch = []
    _feed(batch, lineage, followers)


def _feed(batch: list[LogRecord], lineage: LineageIndex, followers: tuple[Follower, ...]
          ) -> None:
    lineage.add(batch)
    for follower in followers:
        follower.apply(batch)


def view_memory_bound(settings: Settings) -> int:
    """Resident bytes past which the view's own process is started again."""
    if settings.cypher_max_rss_mb is not None:
        return settings.cypher_max_rss_mb * 2**20
    cache_mb = settings.cypher_buffer_pool_mb or default_cache_mb()
    return (cache_mb + VIEW_MEMORY_ABOVE_CACHE_MB) * 2**20


class ViewFeed:
    """Offers the Cypher view each batch the RDF projection applied (it projects them in
    its own thread); ``dpgraph replay`` rebuilds the view on its own."""

    def __init__(self, view: CypherView) -> None:
        self._view = view

    def apply(self, records: Sequence[LogRecord]) -> None:
        self._view.offer(records)

    def clear(self) -> None:
        """Nothing held here."""


def open_runtime(settings: Settings, *, catch_up: bool = True,
                 lock: DataDirLock | None = None, poll_log: float | None = None,
                 view_process: bool = False) -> Runtime:
    """Take the data directory, open log and store, and project what the log has ahead.

    ``lock`` is the data directory's lock when the caller holds it already (the core process
    of `dpgraph serve`, whose parent took it); ``poll_log`` how often the projection looks
    for records another process appended (that parent's ingest front); ``view_process``
    keeps the Cypher view in a process of its own (``cypher/view_process.py``) instead of
    a thread of this one."""
    if lock is None:
        lock = DataDirLock(settings.data_dir)
        lock.acquire()
    try:
        log = SqliteLog(settings.data_dir / "log.sqlite")
        store = open_store(settings)
        search_index = SearchIndex(settings.data_dir / "search.sqlite")
        forget_too_large_record(log)
        view = (ViewProcess(settings, log, max_rss_bytes=view_memory_bound(settings))
                if view_process else CypherView(open_backend(settings), log))
    except BaseException:
        lock.release()
        raise
    artefacts = Artefacts(settings.home)
    index = LineageIndex()  # the current lineage adjacency
    join_index = JoinIndex()  # join keys, candidates' facts and decisions
    product_lineage = ProductLineageIndex(index)  # products, applications, runs per job
    column_flow = ColumnFlowIndex()  # classification propagation and schema drift
    column_lineage = ColumnLineageIndex()  # field derivations for /column-lineage
    job_catalog = JobCatalog()  # per job its first/last times and latest facets
    if catch_up and isinstance(view, ViewProcess):
        # Its own process follows the log on its own: it catches up on the other core while
        # this one loads the indexes and projects the graph.
        view.start()
    collect_young_less_often()  # loading the indexes and catching up allocate per event
    _load_in_memory(log, index, join_index, product_lineage, column_flow, column_lineage,
                    job_catalog)
    summary = LineageSummary(store)  # deduplicated lineage graphs for whole-mesh queries
    rep_links = RepresentationLinks(store)  # dataset -> representation, reads the summary
    latest_schemas = LatestSchemas(store)  # each dataset's latest reported schema
    compaction = StoreCompaction(store, log, settings.store_compact_after)
    projector = Projector(store, log, artefacts.ontology, index,
                          followers=[search_index, join_index, product_lineage, column_flow,
                                     column_lineage, job_catalog, summary, rep_links,
                                     latest_schemas, compaction,
                                     *([ViewFeed(view)] if isinstance(view, CypherView)
                                       else [])])
    if catch_up:
        projector.bootstrap()
        summary.backfill(log)  # a graph projected before the summary existed
        rep_links.backfill()  # and before the links did
        latest_schemas.backfill(log)  # or the latest schemas
        projector.catch_up()
        if isinstance(view, CypherView):
            view.bootstrap()
        search_index.catch_up(log)  # a new or older index file: from its own offset
    compaction.arm()  # after the catch-up, so that it is compacted once, when complete
    # The in-memory indexes are long-lived: moving them out of the collector's reach keeps
    # full collections (which would otherwise walk millions of index objects, 100+ ms each,
    # in the middle of a request) proportional to what requests allocate. A young generation
    # of 50,000 objects instead of 700 spares requests that build large answers (a depth-20
    # lineage of 3,000 nodes allocates ~60,000 containers) the full collections every 70,000
    # allocations would bring: 8-12 ms each over the answer being built.
    spare_long_lived_objects()
    worker = ProjectionWorker(projector, log, poll_seconds=poll_log)
    worker.start()
    if catch_up and isinstance(view, CypherView):
        view.start()  # catches up from its own offset, then follows the log
    registry = Registry(store, log, RegistrationGate(artefacts), worker)
    lineage = LineageReceiver(log, EventValidator(), worker)
    links = LineageLinks(store, registry, worker)
    cypher = CypherQueries(view, log, timeout=settings.cypher_timeout)
    queries = NamedQueries(artefacts.home / "queries", store, worker.wait_for_log, cypher.rows)
    column_flow_service = ColumnFlow(column_flow, worker)
    return Runtime(settings, lock, log, store, registry, projector, artefacts, worker, lineage,
                   LineageReader(store, worker, index, column_lineage, job_catalog,
                                 product_lineage), links,
                   search_index=search_index, search=SearchService(search_index, worker),
                   lineage_index=index, queries=queries,
                   joins=JoinKeys(join_index, log, worker), cypher_view=view,
                   cypher=cypher, column_flow=column_flow_service,
                   product_lineage=ProductLineageService(product_lineage, worker),
                   findings=Findings([PrincipleFindings(product_lineage),
                                      *column_flow_service.sources()], worker),
                   compaction=compaction)
