"""A small pool of query processes, each killed if its query outlives the deadline.

Processes come from multiprocessing's fork server, which preloads the worker module: a
replacement for a killed worker is a fork of a clean, single-threaded process (milliseconds),
never of the service with its threads and open store. Workers start on first use.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from dpgraph.errors import DpgraphError, QueryTimeout

log = logging.getLogger("dpgraph.store.query")
Serve = Callable[[Connection], None]


class _Worker:
    def __init__(self, ctx: ForkServerContext, serve: Serve) -> None:
        self.conn, child = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(target=serve, args=(child,),
                                                name="dpgraph-query", daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class QueryWorkers:
    """At most ``size`` queries run at once; a query waiting for a free worker spends its
    own time budget. ``serve`` (a function of a module the fork server preloads) answers the
    messages of one connection."""

    def __init__(self, size: int, serve: Serve) -> None:
        self._size = size
        self._serve = serve
        self._idle: list[_Worker] = []
        self._live = 0
        self._cond = threading.Condition()
        self._ctx: ForkServerContext | None = None

    def run(self, message: Any, deadline: float) -> Any:
        """Send ``message`` to a worker and return its reply, or kill the worker at the
        deadline and raise QueryTimeout."""
        worker = self._take(deadline)
        try:
            worker.conn.send(message)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                raise QueryTimeout("the query did not finish in time and was stopped")
            reply = worker.conn.recv()
        except QueryTimeout:
            self._discard(worker)
            raise
        except (EOFError, OSError) as exc:
            self._discard(worker)
            raise DpgraphError(f"query worker died: {exc!r}") from exc
        self._give_back(worker)
        return reply

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._live -= len(idle)
        for worker in idle:
            worker.kill()

    def _take(self, deadline: float) -> _Worker:
        with self._cond:
            while not self._idle and self._live >= self._size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    raise QueryTimeout(f"no query worker became free in time ({self._size} "
                                       "queries running)")
            if self._idle:
                return self._idle.pop()
            self._live += 1
        try:
            return _Worker(self._context(), self._serve)
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _give_back(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._live -= 1
            self._cond.notify()

    def _context(self) -> ForkServerContext:
        with self._cond:
            if self._ctx is None:
                ctx = multiprocessing.get_context("forkserver")
                assert isinstance(ctx, ForkServerContext)
                ctx.set_forkserver_preload([self._serve.__module__])
                self._ctx = ctx
            return self._ctx
