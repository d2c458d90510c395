"""Real SPARQL 1.1 servers for the tests, on 127.0.0.1, free ports and temporary directories:
`oxigraph serve` (PyPI package `oxigraph`) and Virtuoso 7.2 (Debian `virtuoso-opensource`),
both installed by scripts/setup.sh. Readiness is polled, never slept for."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from procs import free_port, kill_process

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Endpoints:
    query: str
    update: str
    gsp: str

    def env(self) -> dict[str, str]:
        """The settings pointing a dpgraph service at this store."""
        return {"DPGRAPH_STORE": "sparql", "DPGRAPH_SPARQL_QUERY_URL": self.query,
                "DPGRAPH_SPARQL_UPDATE_URL": self.update, "DPGRAPH_SPARQL_GSP_URL": self.gsp}


class SparqlServer:
    """A store process; ``endpoints`` once started; killed by ``stop`` whatever its state."""

    name = "sparql"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoints(self) -> Endpoints:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> SparqlServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self._log = self.workdir / "server.log"
        with self._log.open("wb") as out:
            self.proc = subprocess.Popen(self.command(), cwd=self.workdir, stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                r = httpx.post(self.endpoints.query, data={"query": "ASK {}"}, timeout=2)
                if r.status_code == 200:
                    self.ready()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} not ready after {START_TIMEOUT} s:\n{self.output()}")

    def prepare(self) -> None:
        """Before the process starts (configuration files)."""

    def ready(self) -> None:
        """Once it answers queries (grants)."""

    def stop(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def output(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")


class OxigraphServer(SparqlServer):
    name = "oxigraph"

    def __init__(self, workdir: Path, *, union_default_graph: bool = True) -> None:
        super().__init__(workdir)
        self.union_default_graph = union_default_graph

    @property
    def endpoints(self) -> Endpoints:
        base = f"http://127.0.0.1:{self.port}"
        return Endpoints(f"{base}/query", f"{base}/update", f"{base}/store")

    def prepare(self) -> None:
        self.port = free_port()

    def command(self) -> list[str]:
        binary = Path(sys.executable).parent / "oxigraph"
        if not binary.exists():
            pytest.fail("the oxigraph server is missing: run scripts/setup.sh")
        return [str(binary), "serve", "--location", str(self.workdir / "db"),
                "--bind", f"127.0.0.1:{self.port}",
                *(["--union-default-graph"] if self.union_default_graph else [])]


_VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
CaseMode = 2
DirsAllowed = .
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 120
"""


class VirtuosoServer(SparqlServer):
    """Virtuoso open source on its own database; SPARQL Update granted to the anonymous
    endpoint user, as the Virtuoso documentation describes for /sparql."""

    name = "virtuoso"

    def __init__(self, workdir: Path, *, max_rows: int = 1_000_000) -> None:
        super().__init__(workdir)
        self.max_rows = max_rows  # Virtuoso's default, 10,000, is below our big-batch tests

    @property
    def endpoints(self) -> Endpoints:
        base = f"http://127.0.0.1:{self.port}"
        return Endpoints(f"{base}/sparql", f"{base}/sparql", f"{base}/sparql-graph-crud")

    def prepare(self) -> None:
        self.port = free_port()
        self.sql_port = free_port()
        while self.sql_port == self.port:
            self.sql_port = free_port()
        (self.workdir / "virtuoso.ini").write_text(_VIRTUOSO_INI.format(
            dir=self.workdir, sql_port=self.sql_port, http_port=self.port,
            max_rows=self.max_rows), encoding="utf-8")

    def command(self) -> list[str]:
        binary = shutil.which("virtuoso-t")
        if binary is None:
            pytest.fail("Virtuoso is missing: run scripts/setup.sh (virtuoso-opensource)")
        return [binary, "+configfile", "virtuoso.ini", "+foreground"]

    def ready(self) -> None:
        isql = shutil.which("isql-vt")
        if isql is None:
            pytest.fail("isql-vt is missing: run scripts/setup.sh (virtuoso-opensource)")
        done = subprocess.run(
            [isql, f"127.0.0.1:{self.sql_port}", "dba", "dba",
             'exec=GRANT SPARQL_UPDATE TO "SPARQL";'],
            capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0 or "Error" in done.stdout + done.stderr:
            pytest.fail(f"cannot grant SPARQL_UPDATE on Virtuoso:\n{done.stdout}{done.stderr}")
