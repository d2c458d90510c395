"""The Cypher view on a Bolt server (Neo4j in production; FalkorDB in the tests) through the
official ``neo4j`` driver.

Writes are the batched statements of ``bolt_statements``; each is idempotent, so a batch that
failed half way is simply applied again (the FalkorDB Bolt listener acknowledges BEGIN and
ROLLBACK without doing anything, so nothing here relies on a rollback).

FalkorDB over Bolt, as measured with 4.16.3 (``server="falkordb"`` works around each):

- it renders Bolt parameters into the query text unescaped, in a 4 KiB buffer: parameters are
  sent as a ``CYPHER p=…`` prefix written by ``dpgraph.cypher.literals`` instead;
- it takes the graph name from the first key of the RUN message's extra map, so a read-mode
  or a database session lands in a graph called ``mode`` or ``db``: every session here is a
  default write-mode session on the default graph;
- it ignores the transaction timeout (and sending one moves the query to a graph called
  ``tx_timeout``, as above): the server's ``TIMEOUT_DEFAULT`` stops a runaway query
  (read or write), and ``query`` stops waiting on its own deadline;
- after a connection said GOODBYE, the next new connection's handshake is not answered: a
  short connect timeout and a retry get past it;
- errors come back as "unknown error", without the server's message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from dpgraph.cypher.base import Row, register_backend
from dpgraph.cypher.bolt_statements import (
    INDEXED_PROPERTIES,
    index_statements,
    labels_of,
    plan,
)
from dpgraph.cypher.errors import CypherQueryError, CypherTimeout
from dpgraph.cypher.literals import with_inline_parameters
from dpgraph.cypher.model import Change
from dpgraph.cypher.relink import Link
from dpgraph.errors import DpgraphError, StoreUnavailable

if TYPE_CHECKING:
    import neo4j

    from dpgraph.settings import Settings

log = logging.getLogger(__name__)

ServerKind = Literal["neo4j", "falkordb"]
ATTEMPTS = 3  # tries of an idempotent operation over a connection that could not be made
CLEAR_CHUNK = 10_000


class BoltBackend:
    kind: ClassVar[str] = "bolt"
    fresh = False  # what a server holds is not known from here
    position = 0  # unused: a server's crash is not the view's process's
    changes_per_transaction = None  # a server's memory is not ours to budget

    def __init__(self, uri: str, user: str, password: str, *, database: str | None = None,
                 server: ServerKind = "neo4j", connect_timeout: float = 5.0,
                 max_rows: int = 1000) -> None:
        import neo4j  # lazily: start-up only pays for the backend in use

        if server == "falkordb" and database:
            raise DpgraphError("FalkorDB's Bolt listener cannot select a graph by database "
                               "name; leave DPGRAPH_BOLT_DATABASE unset")
        self._neo4j = neo4j
        self._server = server
        self._database = database
        self._max_rows = max_rows
        # The acquisition deadline is also the Bolt handshake's: it bounds the wait for the
        # handshake FalkorDB leaves unanswered (module docstring).
        self._driver = neo4j.GraphDatabase.driver(
            uri, auth=(user, password), connection_timeout=connect_timeout,
            connection_acquisition_timeout=2 * connect_timeout)
        self._labels: set[str] = set()
        self._lock = threading.Lock()  # apply and clear are one writer's
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bolt-query")
        self.statements_sent = 0
        try:
            self._ensure_indexes(self._existing_labels())
        except neo4j.exceptions.Neo4jError as e:
            self.close()
            # FalkorDB answers a wrong password with an "unknown error" on the first query.
            raise StoreUnavailable(f"Bolt server refused the login or the first query: "
                                   f"{_reason(e)}") from e
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_settings(cls, settings: Settings) -> BoltBackend:
        return cls(settings.bolt_uri, settings.bolt_user,
                   settings.bolt_password.get_secret_value(), database=settings.bolt_database,
                   server=settings.bolt_server, connect_timeout=settings.bolt_connect_timeout)

    # -- CypherBackend ------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        with self._lock:
            self._ensure_indexes(labels_of(changes) - self._labels)
            for statement in plan(changes, self._labels, max_rows=self._max_rows):
                self._write(statement.cypher, statement.params)

    def run(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        with self._lock:
            for cypher, params in statements:
                self._write(cypher, dict(params))

    def link(self, links: Sequence[Link]) -> None:
        with self._lock:
            for link in links:
                (merge, params), (count, _) = link.merge(), link.remaining()
                self._write(merge, dict(params))
                while link.closure and self._write(count, dict(params))[0]["n"]:
                    self._write(merge, dict(params))

    def query(self, cypher: str, params: Mapping[str, Any] | None = None, *,
              timeout: float) -> list[Row]:
        future = self._readers.submit(self._read, cypher, dict(params or {}), timeout)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            # The server stops the query itself (Neo4j: the transaction timeout sent with it;
            # FalkorDB: its TIMEOUT_DEFAULT); the worker thread returns when it has.
            raise CypherTimeout(f"the query ran longer than {timeout:g} s") from None

    def clear(self) -> None:
        with self._lock:
            while self._write(f"MATCH (n) WITH n LIMIT {CLEAR_CHUNK} DETACH DELETE n "
                              "RETURN count(*) AS deleted", {})[0]["deleted"]:
                pass

    def close(self) -> None:
        self._readers.shutdown(wait=False, cancel_futures=True)
        self._driver.close()

    # -- sessions -----------------------------------------------------------------------------

    def _session(self, *, read: bool) -> neo4j.Session:
        if self._server == "falkordb":
            return self._driver.session()  # see the module docstring: no mode, no database
        mode = self._neo4j.READ_ACCESS if read else self._neo4j.WRITE_ACCESS
        return self._driver.session(database=self._database, default_access_mode=mode)

    def _run(self, cypher: str, params: dict[str, Any], *, read: bool,
             timeout: float | None = None) -> list[neo4j.Record]:
        """Run one statement to its end. What is sent here is an idempotent write or a read,
        so a statement whose connection could not be made or was lost is sent again."""
        if self._server == "falkordb":
            # A tx_timeout, too, would land the query in a graph called "tx_timeout".
            cypher, params, timeout = with_inline_parameters(cypher, params), {}, None
        query = self._neo4j.Query(cypher, timeout=timeout)  # type: ignore[arg-type]
        unavailable = (self._neo4j.exceptions.ServiceUnavailable,
                       self._neo4j.exceptions.SessionExpired)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self._session(read=read) as session:
                    self.statements_sent += 1
                    return list(session.run(query, params))
            except self._neo4j.exceptions.AuthError as e:
                raise StoreUnavailable(f"Bolt server refused the login: {_reason(e)}") from e
            except unavailable as e:
                if attempt == ATTEMPTS:
                    raise StoreUnavailable(f"Bolt server unavailable: {e}") from e
                log.info("Bolt connection failed (%s); trying again", e)
        raise AssertionError("unreachable")

    def _write(self, cypher: str, params: dict[str, Any]) -> list[neo4j.Record]:
        try:
            return self._run(cypher, params, read=False)
        except self._neo4j.exceptions.Neo4jError as e:
            raise DpgraphError(f"Bolt server refused a write: {_reason(e)}") from e

    def _read(self, cypher: str, params: dict[str, Any], timeout: float) -> list[Row]:
        try:
            records = self._run(cypher, params, read=True, timeout=timeout)
        except ValueError as e:  # a parameter without a Cypher literal (FalkorDB)
            raise CypherQueryError(f"parameter not accepted: {e}") from e
        except self._neo4j.exceptions.Neo4jError as e:
            if "TransactionTimedOut" in (e.code or ""):
                raise CypherTimeout(f"the query ran longer than {timeout:g} s") from e
            raise CypherQueryError(f"query refused: {_reason(e)}") from e
        return [{key: self._value(v) for key, v in record.items()} for record in records]

    # -- schema -------------------------------------------------------------------------------

    def _existing_labels(self) -> set[str]:
        return {r["label"] for r in self._run("CALL db.labels() YIELD label RETURN label", {},
                                              read=False)}

    def _ensure_indexes(self, labels: set[str]) -> None:
        if not labels:
            return
        if self._server == "neo4j":
            for label in sorted(labels):
                for cypher in index_statements(label, if_not_exists=True):
                    self._write(cypher, {})
        else:
            existing = {(r["label"], p) for r in self._run(
                "CALL db.indexes() YIELD label, properties, entitytype "
                "WHERE entitytype = 'NODE' RETURN label, properties", {}, read=False)
                for p in r["properties"]}
            for label in sorted(labels):
                for prop, cypher in zip(INDEXED_PROPERTIES,
                                        index_statements(label, if_not_exists=False),
                                        strict=True):
                    if (label, prop) not in existing:
                        self._write(cypher, {})
        self._labels |= labels

    # -- results ------------------------------------------------------------------------------

    def _value(self, value: Any) -> Any:
        graph = self._neo4j.graph
        if isinstance(value, graph.Node):
            return {**{k: self._value(v) for k, v in value.items()},
                    "_labels": sorted(value.labels)}
        if isinstance(value, graph.Relationship):
            return {**{k: self._value(v) for k, v in value.items()}, "_type": value.type}
        if isinstance(value, graph.Path):
            return {"nodes": [self._value(n) for n in value.nodes],
                    "relationships": [self._value(r) for r in value.relationships]}
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        iso = getattr(value, "iso_format", None)  # neo4j.time values
        return iso() if callable(iso) else str(value)


def _reason(error: Any) -> str:
    return f"{error.code}: {error.message}" if getattr(error, "code", None) else str(error)


def _from_settings(settings: Any) -> BoltBackend:
    return BoltBackend.from_settings(settings)


register_backend("bolt", _from_settings)
