"""`dpgraph serve` as two processes: the ingest front acknowledges lineage events, the core it
starts projects them and answers everything else (forwarded over a Unix socket)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from procs import Server, alive, children, wait_projected

from dpgraph.sockets import socket_path

SHARED = Path(os.environ.get("DPGRAPH_SHARED_DIR",
                             Path(__file__).resolve().parents[2] / "shared"))
EVENT = sorted((SHARED / "corpus" / "openlineage" / "valid").rglob("*.json"))[0]


def started_with(server: Server, flag: str) -> list[int]:
    """The front's child processes whose command line has ``flag``."""
    assert server.proc is not None
    return [c for c in children(server.proc.pid)
            if flag.encode() in Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")]


def core_of(server: Server) -> int:
    (core,) = started_with(server, "--core-socket")
    return core


def workers_of(server: Server) -> list[int]:
    return started_with(server, "--listen-fd")


def event(n: int) -> bytes:
    body = json.loads(EVENT.read_bytes())
    body["run"]["runId"] = f"00000000-0000-4000-8000-{n:012d}"
    return json.dumps(body).encode()


def post(server: Server, body: bytes) -> httpx.Response:
    return server.post("/api/v1/lineage", content=body,
                       headers={"Content-Type": "application/json"})


def test_events_are_acknowledged_while_the_core_cannot_answer(server: Server) -> None:
    core = core_of(server)
    os.kill(core, signal.SIGSTOP)  # the core answers nothing, projects nothing
    try:
        answers = [post(server, event(n)) for n in range(5)]
        assert [r.status_code for r in answers] == [201] * 5
        assert post(server, event(0)).status_code == 200  # a retry: stored once
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(server.url + "/health", timeout=1)  # forwarded to the stopped core
    finally:
        os.kill(core, signal.SIGCONT)
    offsets = wait_projected(server)
    assert offsets["log"] == offsets["projected"] == 5
    ns = json.loads(EVENT.read_bytes())["job"]["namespace"]
    jobs = server.get(f"/api/v1/namespaces/{quote(ns, safe='')}/jobs").json()
    assert jobs["totalCount"] == 1  # read through the front once the core answers again


def test_requests_reach_the_core_and_answers_come_back_unchanged(server: Server) -> None:
    assert post(server, event(1)).status_code == 201
    wait_projected(server)
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    csv = server.get("/sparql?query=" + quote(query), headers={"Accept": "text/csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "n" and int(csv.text.splitlines()[1]) > 10
    refused = server.get("/sparql?query=" + quote(query), headers={"Accept": "image/png"})
    assert refused.status_code == 406
    missing = server.get("/api/v1/namespaces/no%2Fsuch/jobs/x")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    form = server.post("/sparql", data={"query": query},
                       headers={"Accept": "application/sparql-results+json"})
    assert form.status_code == 200 and form.json()["results"]["bindings"]


def test_a_killed_front_takes_its_core_along_and_a_restart_takes_over(server: Server) -> None:
    assert post(server, event(2)).status_code == 201
    core, workers = core_of(server), workers_of(server)
    socket = server.data_dir.resolve() / "core.sock"
    assert socket.is_socket()  # not in a directory of its own that a kill would leave in /tmp
    server.kill()  # SIGKILL the front only
    deadline = time.monotonic() + 10
    while any(map(alive, [core, *workers])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(core), "the core outlived its front"
    assert workers and not any(map(alive, workers)), "a worker outlived its front"
    assert socket.is_socket()  # nobody left to remove it
    server.start()  # the data directory's lock is free again; the old socket is replaced
    offsets = wait_projected(server)
    assert offsets["log"] == offsets["projected"] == 1
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    assert not socket.exists()


def test_the_front_runs_ahead_of_the_projections_in_priority(server: Server) -> None:
    assert post(server, event(5)).status_code == 201
    wait_projected(server)
    assert server.proc is not None
    core = core_of(server)
    deadline = time.monotonic() + 60
    while not (workers := children(core)):  # the Cypher view's process (and the tracker)
        assert time.monotonic() < deadline, "the core started no process"
        time.sleep(0.1)
    assert os.getpriority(os.PRIO_PROCESS, server.proc.pid) == 0
    assert [os.getpriority(os.PRIO_PROCESS, w) for w in workers_of(server)] == [0]
    assert os.getpriority(os.PRIO_PROCESS, core) == 10
    assert [os.getpriority(os.PRIO_PROCESS, w) for w in workers] == [10] * len(workers)


def test_an_ingest_worker_acknowledges_on_the_same_port_while_the_front_cannot(
        server: Server) -> None:
    assert server.proc is not None
    (worker,) = workers_of(server)  # ingest_workers = 2 by default: the front and one more
    os.kill(server.proc.pid, signal.SIGSTOP)  # the front accepts nothing
    try:
        # A fresh connection each: the kernel hands it to whoever accepts.
        assert [post(server, event(n)).status_code for n in range(3)] == [201] * 3
        assert post(server, event(0)).status_code == 200  # a retry: stored once
        assert server.get("/health").status_code == 200  # forwarded to the core
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    os.kill(worker, signal.SIGSTOP)  # now the front alone
    try:
        assert [post(server, event(n)).status_code for n in range(3, 6)] == [201] * 3
        assert post(server, event(1)).status_code == 200  # the worker's event, stored once
    finally:
        os.kill(worker, signal.SIGCONT)
    offsets = wait_projected(server)
    assert offsets["log"] == offsets["projected"]
    # Each event once. (A retry that reaches the log's insert takes an offset it leaves
    # unused: offsets are never reused, and may have gaps.)
    stored = server.get("/api/v1/events/lineage", params={"limit": 100}).json()
    assert stored["totalCount"] == 6
    assert sorted(e["run"]["runId"][-1] for e in stored["events"]) == list("012345")


def loaded_libraries(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {Path(line.split()[-1]).name for line in maps if ".so" in line}


def test_the_front_and_its_workers_load_neither_graph_store_nor_shacl_engine(
        server: Server) -> None:
    # They acknowledge events: receiving needs the log and the validator, not the core's
    # runtime (~33 MiB more in each when they imported it through the app).
    assert server.proc is not None
    assert post(server, event(7)).status_code == 201
    engines = ("pyoxigraph", "_pyrudof", "kuzu")
    for pid in [server.proc.pid, *workers_of(server)]:
        libraries = loaded_libraries(pid)
        assert not [lib for lib in libraries if lib.startswith(engines)], libraries
        assert any(lib.startswith("jsonschema_rs") for lib in libraries)  # it validates
    assert any(lib.startswith("pyoxigraph") for lib in loaded_libraries(core_of(server)))


def test_a_worker_that_dies_is_started_again_and_a_stop_ends_them_all(
        server: Server) -> None:
    (worker,) = workers_of(server)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while (workers := workers_of(server)) in ([], [worker]):
        assert time.monotonic() < deadline, "no worker started again"
        time.sleep(0.1)
    assert "an ingest worker exited with -9" in server.output()
    assert [post(server, event(n)).status_code for n in range(4)] == [201] * 4
    assert wait_projected(server)["projected"] == 4
    core, (new_worker,) = core_of(server), workers
    assert server.stop() in (0, -signal.SIGTERM)
    assert not alive(new_worker) and not alive(core)


def test_one_ingest_process_when_configured(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", tmp_path, env={"DPGRAPH_INGEST_WORKERS": "1"})
    server.start()
    try:
        assert workers_of(server) == [] and core_of(server)
        assert post(server, event(1)).status_code == 201
        assert wait_projected(server)["projected"] == 1
    finally:
        server.kill()


def test_a_data_directory_with_a_long_path_gets_the_socket_in_a_temporary_directory(
        tmp_path: Path) -> None:
    short, made = socket_path(tmp_path, "core.sock")
    assert (short, made) == (tmp_path.resolve() / "core.sock", None)
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    socket, made = socket_path(deep, "core.sock")
    assert made is not None and socket.parent == made and made.is_dir()
    assert len(os.fsencode(socket)) <= 107
    made.rmdir()


def test_a_core_that_dies_stops_the_service_with_an_error(server: Server) -> None:
    assert post(server, event(3)).status_code == 201
    os.kill(core_of(server), signal.SIGKILL)
    assert server.proc is not None
    assert server.proc.wait(timeout=30) != 0
    assert "the core process exited" in server.output()
    server.proc = None
    server.start()
    assert wait_projected(server)["projected"] == 1
