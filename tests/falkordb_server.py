"""A real FalkorDB server (redis-server + falkordb.so, built by scripts/falkordb.sh) speaking
Bolt, for the Bolt backend tests.

Its Bolt listener binds every interface whatever ``--bind`` says (FalkorDB 4.16.3), and a
firewall is out of reach of a test run, so the server gets a random password: a Bolt client
must log in with it (the listener checks it with AUTH), so nobody else on the network can use
the port while the tests run. The Redis port itself is bound to 127.0.0.1.
"""

from __future__ import annotations

import random
import secrets
import socket
import subprocess
import time
from pathlib import Path

import pytest
from procs import REPO, free_port

BUILD = REPO / ".cache" / "falkordb"
SERVER = BUILD / "redis-server"
MODULE = BUILD / "falkordb.so"
QUERY_TIMEOUT_MS = 2000  # TIMEOUT_DEFAULT: what stops a runaway query on this server
START_TIMEOUT = 30.0


class FalkorDB:
    user = "falkordb"  # the only principal its Bolt listener takes

    def __init__(self, workdir: Path) -> None:
        if not (SERVER.is_file() and MODULE.is_file()):
            pytest.fail(f"{SERVER} or {MODULE} missing: run scripts/setup.sh (it runs "
                        "scripts/falkordb.sh)")
        self.workdir = workdir
        self.password = secrets.token_urlsafe(24)
        self.redis_port = free_port()
        self.bolt_port = free_bolt_port()
        self.log = workdir / "falkordb.log"
        cmd = [str(SERVER), "--bind", "127.0.0.1", "--port", str(self.redis_port),
               "--requirepass", self.password, "--save", "", "--appendonly", "no",
               "--dir", str(workdir),
               "--loadmodule", str(MODULE), "BOLT_PORT", str(self.bolt_port),
               "TIMEOUT_DEFAULT", str(QUERY_TIMEOUT_MS)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    def redis(self, *args: str) -> bytes:
        """One Redis command on the Redis port (RESP), for checks the Bolt side cannot make.
        Tried again once: after a Bolt client said GOODBYE, FalkorDB leaves the next socket it
        accepts, on either port, unanswered."""
        try:
            return self._redis_once(args)
        except TimeoutError:
            return self._redis_once(args)

    def _redis_once(self, args: tuple[str, ...]) -> bytes:
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as s:
            s.sendall(_resp("AUTH", self.password) + _resp(*args))
            data = s.recv(65536)
            s.settimeout(0.2)  # the rest of a longer reply, if any, follows at once
            try:
                while chunk := s.recv(65536):
                    data += chunk
            except TimeoutError:
                pass
        return data

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"FalkorDB exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if b"+PONG" in self.redis("PING"):
                    # The module, Bolt listener included, loads before Redis is ready.
                    if f"Bolt protocol initialized. Port: {self.bolt_port}" in self.output():
                        return
                    break
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"FalkorDB not ready, or without its Bolt listener:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def free_bolt_port() -> int:
    """A port free on every interface and below 32768: FalkorDB 4.16.3 silently starts no
    Bolt listener on a higher BOLT_PORT (so the kernel's ephemeral ports will not do)."""
    rng = random.Random()
    for _ in range(100):
        port = rng.randrange(20000, 32768)
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::", port))  # dual stack, like the listener
            return port
        except OSError:
            continue
    raise RuntimeError("no free port below 32768")


def _resp(*args: str) -> bytes:
    out = b"*%d\r\n" % len(args)
    for a in args:
        raw = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(raw), raw)
    return out
