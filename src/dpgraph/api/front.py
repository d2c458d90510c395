"""The ingest front of `dpgraph serve`: this process acknowledges lineage events; a core
process it starts projects them and answers every other request, forwarded over a Unix
socket.

Why two processes: in one, request handling, the projection, its in-memory followers and
the Cypher view share one interpreter lock, and acknowledgements fell to ~600 events/s while
the ack path alone does ~2,900/s. oxigraph and Kùzu each allow one writing process, and
reading a store another process writes is undefined (pyoxigraph's ``Store.read_only``), so
the stores and every read stay in the core. The log (SQLite in WAL mode) is what both open:
this process appends to it exactly as the one-process service does (validation, group
commit, ``synchronous=FULL`` before the 2xx, a retry answered from the first copy), and the
core's projection polls the log head.

The front takes the data directory's lock and hands the core its descriptor, so a core that
outlived a killed front still holds the lock and a new service waits for it to go; the core
also asks the kernel for SIGKILL when its parent dies. Until the core is up (it loads its
in-memory indexes and catches up with the log first), lineage POSTs are acknowledged and
every other request answers 503.

Acknowledging takes more than one interpreter can give under a burst (a front at one core's
worth of CPU acknowledged ~2,500 events/s), so ``ingest_workers - 1`` more processes
(:class:`IngestWorker`) accept on the same listening socket, the kernel handing each
connection to one of them: each validates, appends with its own group commit (SQLite
serialises the writers; a retry seen by two of them is stored once by the log's unique key)
and forwards other requests to the same core. They die with the front, which starts a
worker that exits again and stops them before the core, so what they acknowledged is in the
log before the core's last projection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from dpgraph.api import problems
from dpgraph.api.ingest_asgi import IngestFront, body_chunks
from dpgraph.collector import spare_long_lived_objects
from dpgraph.errors import ServiceStarting
from dpgraph.lineage.validation import EventValidator
from dpgraph.lock import DataDirLock
from dpgraph.log.sqlite_log import SqliteLog
from dpgraph.services.lineage import LineageReceiver, NoProjection
from dpgraph.settings import Settings
from dpgraph.sockets import remove_socket, socket_path

log = logging.getLogger("dpgraph.front")
LOCK_WAIT_SECONDS = 15.0  # for the core of a killed service to be gone
STOP_SECONDS = 120.0  # for the core to finish projecting what was acknowledged
WORKER_RESTART_SECONDS = 1.0
# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded either way.
_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"upgrade", b"te",
                  b"trailer", b"proxy-connection"})


class FrontRuntime:
    """The part of a runtime the lineage POSTs need, for :class:`IngestFront`."""

    def __init__(self, settings: Settings, lineage: LineageReceiver) -> None:
        self.settings = settings
        self.lineage = lineage


class _Acknowledging:
    """What the front and its ingest workers share: the ASGI application (lifespan, lineage
    POSTs answered here, every other request forwarded to the core's socket)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ingest = IngestFront(self._forward, runtime_of=lambda scope: self._receiving)
        self._receiving: FrontRuntime | None = None
        self._client: httpx.AsyncClient | None = None
        self._socket = Path()
        self._stopping = False

    def _open_receiving(self, core_socket: Path) -> None:
        self._log = SqliteLog(self.settings.data_dir / "log.sqlite")
        self._receiving = FrontRuntime(self.settings, LineageReceiver(
            self._log, EventValidator(), NoProjection()))
        self._socket = core_socket
        self._client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(core_socket)),
            base_url="http://core", timeout=httpx.Timeout(None))

    def _close_receiving(self) -> None:
        if self._receiving is not None:
            self._receiving.lineage.close()  # commits what is queued
            self._log.close()

    def _core_running(self) -> bool:
        return True  # a worker cannot tell; the front stops the service when the core exits

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    async def _watch(self) -> None:
        """Runs while the service runs (supervision)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._ingest(scope, receive, send)
        # websockets: none served

    # ---------------------------------------------------------------- lifespan
    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self._start()
                except Exception as exc:
                    log.exception("the front could not start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                spare_long_lived_objects()
                watcher = asyncio.create_task(self._watch())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stopping = True
                watcher.cancel()
                await asyncio.get_running_loop().run_in_executor(None, self._stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---------------------------------------------------------------- forwarding
    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._client is not None
        try:
            body = b"".join([chunk async for chunk in body_chunks(receive)])
        except ClientDisconnect:
            return  # nobody to answer
        path = scope.get("raw_path") or scope["path"].encode()
        if scope.get("query_string"):
            path += b"?" + scope["query_string"]
        headers = [(k, val) for k, val in scope["headers"] if k.lower() not in _HOP]
        request = self._client.build_request(scope["method"], path.decode("latin-1"),
                                             headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError:
            starting = self._core_running()
            await problems.render(ServiceStarting(
                "the core process is starting (loading its indexes, catching up with the "
                "log); lineage events are acknowledged meanwhile, retry this shortly"
                if starting else "the core process is not running"))(scope, receive, send)
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k, val) for k, val in response.headers.raw
                                    if k.lower() not in _HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


class Front(_Acknowledging):
    """The front: holds the data directory's lock, starts the core and the ingest workers."""

    def __init__(self, settings: Settings, core_command: Sequence[str]) -> None:
        super().__init__(settings)
        self._core_command = list(core_command)
        # The listening socket, shared with the workers (set before the start; none: no
        # workers).
        self.listener: socket.socket | None = None
        self._core: subprocess.Popen[bytes] | None = None
        self._workers: list[subprocess.Popen[bytes]] = []
        self._socket_dir: Path | None = None
        self.core_failed = False  # the core exited on its own: the service exits with an error

    def _core_running(self) -> bool:
        return self._core is not None and self._core.poll() is None

    def _start(self) -> None:
        self._lock = DataDirLock(self.settings.data_dir)
        self._lock.acquire(wait=LOCK_WAIT_SECONDS)
        try:
            socket_file, self._socket_dir = socket_path(self.settings.data_dir, "core.sock")
            self._open_receiving(socket_file)
            self._core = self._start_child(self._lock.fileno(),
                                           "--core-socket", str(self._socket))
            if self.listener is not None:
                self._workers = [self._start_worker()
                                 for _ in range(self.settings.ingest_workers - 1)]
        except BaseException:
            self._lock.release()
            raise

    def _start_worker(self) -> subprocess.Popen[bytes]:
        assert self.listener is not None
        fd = self.listener.fileno()
        return self._start_child(fd, "--listen-fd", str(fd), "--forward-to", str(self._socket))

    def _start_child(self, fd: int, *options: str) -> subprocess.Popen[bytes]:
        """`dpgraph serve` with this one's options and ``options``, inheriting ``fd``; it
        dies with this process."""
        return subprocess.Popen(
            [sys.executable, "-m", "dpgraph.cli", *self._core_command, *options,
             "--core-parent", str(os.getpid())], pass_fds=(fd,))

    async def _watch(self) -> None:
        """A core that exits on its own (it could not open the stores) stops the service; a
        worker that exits is started again (the others and the front keep accepting)."""
        assert self._core is not None
        while self._core.poll() is None:
            for i, worker in enumerate(self._workers):
                if worker.poll() is not None and not self._stopping:
                    log.error("an ingest worker exited with %s; starting it again",
                              worker.returncode)
                    await asyncio.sleep(WORKER_RESTART_SECONDS)
                    if not self._stopping:
                        self._workers[i] = self._start_worker()
            await asyncio.sleep(0.5)
        if not self._stopping:
            log.error("the core process exited with %s; stopping", self._core.returncode)
            self.core_failed = True
            os.kill(os.getpid(), signal.SIGTERM)

    def _stop(self) -> None:
        # The workers first: what they acknowledged is committed before the core's last
        # projection.
        for worker in self._workers:
            _ask_to_stop(worker)
        for worker in self._workers:
            _wait_or_kill(worker, "an ingest worker")
        self._close_receiving()
        if self._core is not None:
            _ask_to_stop(self._core)
            _wait_or_kill(self._core, "the core")
        remove_socket(self._socket, self._socket_dir)
        self._lock.release()


def _ask_to_stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)


def _wait_or_kill(process: subprocess.Popen[bytes], what: str) -> None:
    """Wait for a process asked to stop; kill it past STOP_SECONDS."""
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        log.error("%s did not stop in %.0f s; killing it", what, STOP_SECONDS)
        process.kill()
        process.wait()


class IngestWorker(_Acknowledging):
    """Another process acknowledging on the front's listening socket (see the module's
    text); the front holds the lock and runs the core."""

    def __init__(self, settings: Settings, core_socket: Path) -> None:
        super().__init__(settings)
        self._socket = core_socket

    def _start(self) -> None:
        self._open_receiving(self._socket)

    def _stop(self) -> None:
        self._close_receiving()
