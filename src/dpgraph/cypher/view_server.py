"""The Cypher view's own process under `dpgraph serve` (started by ``view_process``).

The embedded engine keeps memory it no longer needs until the process exits (README,
"Memory at 1,000,000 events"), and the view's writes took a third of the core's interpreter
under load. Here the view follows the log on its own, answers the core's reads over a Unix
socket (``multiprocessing.connection``: authenticated, pickled messages, a thread per
connection) and, when its resident memory passes a bound, finishes the reads in flight,
closes the engine and exits with ``RESTART`` so that the core starts a fresh one, which
resumes from the view's offset in the log.

Messages, each answered ``("ok", value)`` or ``("error", exception)``:
``("read", cypher, params, timeout, after)`` rows once the view holds offset ``after``;
``("status",)`` the view's stall or None; ``("stop",)``.
"""

from __future__ import annotations

import logging
import os
import threading
from multiprocessing.connection import Connection, Listener
from typing import Any

from dpgraph.child_process import die_with_parent, yield_to_front
from dpgraph.collector import spare_long_lived_objects
from dpgraph.errors import DpgraphError, ServiceStarting
from dpgraph.memory import PeriodicGiveBack, give_back_free_memory

RESTART = 75  # exit status asking the core for a fresh process (memory bound passed)
MEMORY_CHECK_SECONDS = 1.0
log = logging.getLogger("dpgraph.cypher")


class Restarting(ServiceStarting):
    """The process takes no new read: it is about to exit for a fresh one (the core's
    client retries on that one)."""


class ReadGate:
    """Counts the reads in flight so that the engine is closed only once they are done."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._reads = 0
        self.closing = False

    def enter(self) -> None:
        with self._cond:
            if self.closing:
                raise Restarting("the Cypher view's process is restarting")
            self._reads += 1

    def leave(self) -> None:
        with self._cond:
            self._reads -= 1
            self._cond.notify_all()

    def close(self, timeout: float) -> None:
        with self._cond:
            self.closing = True
            self._cond.wait_for(lambda: self._reads == 0, timeout=timeout)


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc; 0 elsewhere: never restarts)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def serve(settings: Any, address: str, authkey: bytes, parent: int,
          max_rss_bytes: int | None) -> None:
    """The child process's body: follow the log, answer reads, exit on ``stop`` (0) or
    past the memory bound (``RESTART``)."""
    # Imported here: the core that spawns this never loads the engine.
    from dpgraph.cypher.base import open_backend
    from dpgraph.cypher.projection import CypherView
    from dpgraph.log.sqlite_log import SqliteLog

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
    die_with_parent(parent)
    yield_to_front()
    event_log = SqliteLog(settings.data_dir / "log.sqlite")
    view = CypherView(open_backend(settings), event_log)
    view.bootstrap()
    spare_long_lived_objects()
    gate = ReadGate()
    stop = threading.Event()
    exit_status = [0]
    listener = Listener(address, family="AF_UNIX", authkey=authkey)
    view.start()
    started_at = view.offset

    def answer(conn: Connection) -> None:
        with conn:
            while True:
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    return
                reply = handle(message)
                try:
                    conn.send(reply)
                except (OSError, ValueError):
                    return
                if message[0] == "stop":
                    stop.set()
                    return

    def handle(message: tuple[Any, ...]) -> tuple[str, Any]:
        kind = message[0]
        try:
            if kind == "status":
                return "ok", view.stalled
            if kind == "stop":
                return "ok", None
            gate.enter()
            try:
                _, text, params, timeout, after = message
                return "ok", view.read(text, params, timeout=timeout, after=after)
            finally:
                gate.leave()
        except DpgraphError as exc:
            return "error", exc
        except Exception as exc:  # the core gets its text, the process goes on
            log.exception("Cypher view request %s failed", kind)
            return "error", DpgraphError(f"{type(exc).__name__}: {exc}")

    def accept() -> None:
        while not stop.is_set():
            try:
                conn = listener.accept()
            except (OSError, EOFError):  # closed at exit, or a client failed the handshake
                if stop.is_set():
                    return
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True,
                             name="dpgraph-view-reader").start()

    threading.Thread(target=accept, daemon=True, name="dpgraph-view-accept").start()
    memory = PeriodicGiveBack()
    given_back_at = started_at
    while not stop.wait(MEMORY_CHECK_SECONDS):
        if view.offset != given_back_at and memory.after_work():
            given_back_at = view.offset  # what the batches since the last time freed
        # Restarting costs a start and the reads waiting meanwhile: only once the view has
        # advanced here, so that a bound below what opening takes cannot loop.
        if max_rss_bytes is None or view.offset <= started_at:
            continue
        resident = resident_bytes()
        if resident > max_rss_bytes and give_back_free_memory():
            resident = resident_bytes()  # what the allocator held free need not restart it
        if resident > max_rss_bytes:
            log.info("the Cypher view's process holds %d MiB, over its bound of %d MiB: "
                     "restarting it at offset %d", resident >> 20, max_rss_bytes >> 20,
                     view.offset)
            exit_status[0] = RESTART
            stop.set()
    listener.close()  # unlinks the socket: the core's next connection waits for a new child
    gate.close(timeout=settings.cypher_timeout + 5)
    view.close()
    event_log.close()
    os._exit(exit_status[0])  # the reader threads may still be blocked in recv
