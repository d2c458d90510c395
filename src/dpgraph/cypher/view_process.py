"""The core's side of the Cypher view in a process of its own (``view_server``).

``ViewProcess`` answers what the core asks of a view (its offset, its stall, reads that wait
for the log head) by asking the child over a Unix socket, and a supervisor thread starts the
child again when it exits: at once when it asked for it (its memory bound, ``RESTART``),
after a growing wait when it failed (the view's stall then says so in /health). A read
whose connection breaks because the child went away is sent once more to the next child.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Client, Connection
from typing import Any

from dpgraph.cypher.base import Row
from dpgraph.cypher.projection import NAME, READ_WAIT_SECONDS
from dpgraph.cypher.view_server import RESTART, Restarting, serve
from dpgraph.errors import DpgraphError, StoreUnavailable
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.services.stall import Stalled, StallWatch, unavailable
from dpgraph.sockets import remove_socket, socket_path

log = logging.getLogger("dpgraph.cypher")
CONNECT_POLL_SECONDS = 0.05
STATUS_TIMEOUT_SECONDS = 2.0  # /health does not wait longer for the child's stall
STOP_SECONDS = 60.0
IDLE_CONNECTIONS = 8  # kept open for the next reads


class ViewProcess:
    def __init__(self, settings: Any, event_log: SqliteLog, *,
                 max_rss_bytes: int | None) -> None:
        self._settings = settings
        self._log = event_log
        self._max_rss = max_rss_bytes
        socket, self._socket_dir = socket_path(settings.data_dir, "view.sock")
        self._socket = socket
        self._address = str(socket)
        self._authkey = os.urandom(32)
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue(IDLE_CONNECTIONS)
        self._closing = threading.Event()
        self._child: multiprocessing.process.BaseProcess | None = None
        self.crashes = StallWatch("the Cypher view's process")
        self.restarts = 0  # for memory: how often the bound was passed
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name="dpgraph-view-supervisor")

    # ------------------------------------------------------------------ the view's surface
    def start(self) -> None:
        self._supervisor.start()

    @property
    def offset(self) -> int:
        return self._log.projected(NAME)

    @property
    def pid(self) -> int | None:
        """The current child's process id (None before the first start)."""
        return self._child.pid if self._child is not None else None

    @property
    def stalled(self) -> Stalled | None:
        crashed = self.crashes.stalled
        if crashed is not None:
            # Cleared once a child started after the crash runs and got past where it was.
            offset = self.offset
            if self._alive() and (offset > crashed.after or offset >= self._log.head()):
                self.crashes.advanced()
            else:
                return crashed
        try:
            return self._call(("status",), deadline=time.monotonic() + STATUS_TIMEOUT_SECONDS)
        except StoreUnavailable:
            return None  # starting: not stalled as far as anyone knows yet

    def read(self, cypher: str, params: Mapping[str, Any], *, timeout: float,
             after: int) -> list[Row]:
        deadline = time.monotonic() + READ_WAIT_SECONDS + timeout
        return self._call(("read", cypher, dict(params), timeout, after), deadline=deadline)

    def close(self) -> None:
        if not self._supervisor.is_alive() and self._child is None:  # never started
            remove_socket(self._socket, self._socket_dir)
            return
        self._closing.set()
        try:
            self._call(("stop",), deadline=time.monotonic() + 1.0)
        except DpgraphError:  # not up: nothing to finish
            if self._child is not None:
                self._child.terminate()
        self._supervisor.join(timeout=STOP_SECONDS)
        if self._child is not None and self._child.is_alive():
            log.error("the Cypher view's process did not stop in %.0f s; killing it",
                      STOP_SECONDS)
            self._child.kill()
            self._supervisor.join()
        while not self._idle.empty():
            self._idle.get_nowait().close()
        remove_socket(self._socket, self._socket_dir)

    # ------------------------------------------------------------------ requests
    def _call(self, message: tuple[Any, ...], *, deadline: float) -> Any:
        """Send one request and return its answer, raising the child's error. A pooled
        connection may lead to a child that has exited or is exiting: the request is then
        sent on a new connection, which waits for the next child."""
        fresh = False
        for _ in range(3):
            conn = self._connection(deadline, fresh=fresh)
            try:
                conn.send(message)
                status, value = conn.recv()
            except (EOFError, OSError):
                conn.close()
                if self._closing.is_set():
                    raise StoreUnavailable("the Cypher view is stopping") from None
                fresh = True
                continue
            try:
                self._idle.put_nowait(conn)
            except queue.Full:
                conn.close()
            if status == "ok":
                return value
            if not isinstance(value, Restarting):
                raise value
            fresh = True
        raise StoreUnavailable("the Cypher view's process exited during the request; "
                               "retry shortly")

    def _connection(self, deadline: float, *, fresh: bool) -> Connection:
        if not fresh:
            with contextlib.suppress(queue.Empty):
                return self._idle.get_nowait()
        while True:
            try:
                return Client(self._address, family="AF_UNIX", authkey=self._authkey)
            except (FileNotFoundError, ConnectionRefusedError):
                pass  # the child is starting (or starting again)
            if self._closing.is_set():
                raise StoreUnavailable("the Cypher view is stopping")
            crashed = self.crashes.stalled
            if crashed is not None and not self._alive():  # waiting to be started again
                raise unavailable(self.crashes.what, self.offset, crashed.after + 1, crashed)
            if time.monotonic() >= deadline:
                raise StoreUnavailable("the Cypher view's process is starting; retry shortly")
            time.sleep(CONNECT_POLL_SECONDS)

    def _alive(self) -> bool:
        child = self._child
        return child is not None and child.is_alive()

    # ------------------------------------------------------------------ supervision
    def _supervise(self) -> None:
        # The children are started from this thread, which lives as long as they should:
        # die_with_parent ties a child to the thread that started it.
        context = multiprocessing.get_context("spawn")
        while not self._closing.is_set():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._address)  # a dead child's socket
            child = context.Process(
                target=serve, name="dpgraph-cypher-view", daemon=True,
                args=(self._settings, self._address, self._authkey, os.getpid(),
                      self._max_rss))
            started = time.monotonic()
            child.start()
            self._child = child
            if self._closing.is_set():  # close() came while this child was starting
                child.terminate()
            child.join()
            if self._closing.is_set():
                return
            if child.exitcode == RESTART:
                self.restarts += 1
                self.crashes.advanced()
                continue
            ran = time.monotonic() - started
            wait = self.crashes.report(log, self.offset, DpgraphError(
                f"the Cypher view's process exited with status {child.exitcode} after "
                f"{ran:.0f} s"))
            self._closing.wait(wait)
