"""A small pool of query processes, each killed if its query outlives the deadline.

Each worker is ``python -m <module>`` talking over its stdin/stdout with pickled messages
(multiprocessing's Connection framing). A plain subprocess rather than multiprocessing's
spawn or fork server: those re-import the host program's ``__main__`` in the child, which
reruns any script that does not guard its top level (measured: a benchmark script reopening
the store in every worker). Workers start on first use (~100 ms each) and after a kill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from dpgraph.errors import DpgraphError, QueryTimeout


class _Worker:
    def __init__(self, module: str) -> None:
        child_in, requests = os.pipe()
        replies, child_out = os.pipe()
        try:
            self.process = subprocess.Popen([sys.executable, "-m", module], stdin=child_in,
                                            stdout=child_out)
        except BaseException:
            for fd in (requests, replies):
                os.close(fd)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        self.requests = Connection(requests, readable=False)
        self.replies = Connection(replies, writable=False)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)
        self.requests.close()
        self.replies.close()


class QueryWorkers:
    """At most ``size`` queries run at once; a query waiting for a free worker spends its
    own time budget. ``module`` is run as each worker's main program (see
    :func:`dpgraph.store.oxigraph_query_worker.main`)."""

    def __init__(self, size: int, module: str) -> None:
        self._size = size
        self._module = module
        self._idle: list[_Worker] = []
        self._live = 0
        self._cond = threading.Condition()

    def run(self, message: Any, deadline: float) -> Any:
        """Send ``message`` to a worker and return its reply, or kill the worker at the
        deadline and raise QueryTimeout."""
        worker = self._take(deadline)
        try:
            worker.requests.send(message)
            if not worker.replies.poll(max(0.0, deadline - time.monotonic())):
                raise QueryTimeout("the query did not finish in time and was stopped")
            reply = worker.replies.recv()
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
            return _Worker(self._module)
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
