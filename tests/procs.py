"""Real service processes for the tests: start, stop (SIGTERM), crash (SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLES

REPO = EXAMPLES.parent
DPGRAPH = str(Path(sys.executable).parent / "dpgraph")
PRODUCT_IDS = sorted(p.stem for p in (EXAMPLES / "products").glob("*.yaml"))
START_TIMEOUT = 60.0


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a test's server process, if still running, and reap it."""
    if proc is not None:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without settings that would redirect the service, plus
    ``extra`` (e.g. a remote store's DPGRAPH_STORE and endpoints)."""
    keep = {"DPGRAPH_HOME", "DPGRAPH_SHARED_DIR"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPGRAPH_") or k in keep}
    return {**env, **(extra or {})}


def dpgraph(*args: str | Path,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script from the repository root (relative example paths)."""
    return subprocess.run([DPGRAPH, *map(str, args)], cwd=REPO, env=_env(env),
                          capture_output=True, text=True, timeout=120, check=False)


def children(pid: int) -> list[int]:
    """Child processes of ``pid``, started by any of its threads (the Cypher view's process
    is started by a supervisor's)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            found += (int(c) for c in (task / "children").read_text().split())
    return sorted(found)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...)."""
    found, todo = [], [pid]
    while todo:
        below = children(todo.pop())
        found += below
        todo += below
    return sorted(found)


def command_line(pid: int) -> list[str]:
    with contextlib.suppress(FileNotFoundError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait() is missing


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def finding_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.startswith(("violation: ", "warning: "))]


class Server:
    """One `dpgraph serve` process on a data directory; restartable, always killed at the end."""

    def __init__(self, data_dir: Path, log_dir: Path,
                 env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, demo: bool = False, env: dict[str, str] | None = None) -> None:
        assert self.proc is None, "already running"
        self.port = free_port()
        self.starts += 1
        self._log = self.log_dir / f"serve-{self.starts}.log"
        cmd = [sys.executable, "-m", "dpgraph.cli", "serve", "--port", str(self.port),
               "--data-dir", str(self.data_dir), *(["--demo"] if demo else [])]
        with self._log.open("wb") as out:
            extra = {**(self.env or {}), **(env or {})}
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=_env(extra), stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"server not healthy after {START_TIMEOUT} s:\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM and wait: the graceful shutdown an operator does."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        finally:
            self.kill()
        return code

    def kill(self) -> None:
        """SIGKILL: a crash. Also the teardown of any process still running."""
        kill_process(self.proc)
        self.proc = None

    def output(self) -> str:
        return self._log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=60, **kw)

    def products(self) -> list[dict[str, Any]]:
        r = self.get("/api/v1/products")
        assert r.status_code == 200, r.text
        return list(r.json())

    def offsets(self) -> dict[str, int]:
        return dict(self.get("/health").json()["offsets"])


def wait_projected(server: Server, timeout: float = 60.0) -> dict[str, int]:
    """Poll /health until the projection has caught up with the log."""
    deadline = time.monotonic() + timeout
    while True:
        offsets = server.offsets()
        if offsets["projected"] == offsets["log"] or time.monotonic() > deadline:
            return offsets
        time.sleep(0.05)
