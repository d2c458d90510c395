"""The Cypher view in a process of its own (what `dpgraph serve` runs): reads through it,
its stall when it dies, a fresh process when its memory passes the bound, reads during that."""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from procs import Server
from test_cypher_view import dump, event, post_events, rows

from dpgraph.cypher.view_process import ViewProcess
from dpgraph.demo import load_demo
from dpgraph.errors import DpgraphError, StoreUnavailable
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

COUNT_RUNS = "MATCH (r:Run) RETURN count(r) AS n"
PARENT = 1  # the events' parent run is a Run node too


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def open_with_process(data_dir: Path, **settings: object) -> Runtime:
    return open_runtime(Settings(data_dir=data_dir, **settings), view_process=True)


@pytest.fixture
def process_runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = open_with_process(tmp_path / "data")
    yield rt
    rt.close()


def view(rt: Runtime) -> ViewProcess:
    assert isinstance(rt.cypher_view, ViewProcess)
    return rt.cypher_view


def untimed(graph: tuple[list[Any], list[Any]]) -> tuple[list[Any], list[Any]]:
    """The dump without the products' registration times (two runtimes, two clocks)."""
    nodes, rels = graph
    return [{**row, "n": {k: v for k, v in row["n"].items() if k != "registeredAt"}}
            for row in nodes], rels


def kill_view(rt: Runtime) -> int:
    """SIGKILL the view's process and wait until the core has seen it die; its pid."""
    pid = view(rt).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: view(rt).crashes.stalled is not None)
    return pid


def new_runs(rt: Runtime, n: int) -> None:
    post_events(rt, *(event("COMPLETE", "2026-11-20T10:00:00Z", run_id=str(uuid.uuid4()))
                      for _ in range(n)))


def test_the_view_in_its_own_process_answers_what_the_thread_view_answers(
        tmp_path: Path) -> None:
    thread_rt = open_runtime(Settings(data_dir=tmp_path / "thread"))
    process_rt = open_with_process(tmp_path / "process")
    try:
        for rt in (thread_rt, process_rt):
            load_demo(rt.registry, rt.artefacts.examples, rt.lineage)
            post_events(rt, event("START", "2026-11-20T10:00:00Z"),
                        event("COMPLETE", "2026-11-20T10:05:00Z"))
        assert view(process_rt).pid not in (None, os.getpid())
        # reads wait for the log head there too
        assert untimed(dump(process_rt)) == untimed(dump(thread_rt))
        assert rows(process_rt, "MATCH (p:Product) WHERE p.id = $id RETURN p.id AS id",
                    id="sales-orders") == [{"id": "sales-orders"}]
        assert view(process_rt).offset == process_rt.log.head()
        assert view(process_rt).stalled is None
        # the engine's refusal comes back as the same error, with its message
        errors = []
        for rt in (thread_rt, process_rt):
            with pytest.raises(DpgraphError) as refused:
                rows(rt, "MATCH (n:NoSuchLabel) RETURN n")
            errors.append((type(refused.value), refused.value.status, str(refused.value)))
        assert errors[0] == errors[1] and errors[0][1] == 400
    finally:
        thread_rt.close()
        process_rt.close()


def test_a_killed_view_process_is_shown_stalled_then_started_again(
        process_runtime: Runtime) -> None:
    rt = process_runtime
    new_runs(rt, 3)
    assert rows(rt, COUNT_RUNS) == [{"n": 3 + PARENT}]
    first = kill_view(rt)
    stalled = view(rt).crashes.stalled
    assert stalled is not None and "exited with status -9" in stalled.error
    new_runs(rt, 2)  # acknowledged while the view is down: the next process catches up
    wait_until(lambda: view(rt).pid != first)
    assert rows(rt, COUNT_RUNS) == [{"n": 5 + PARENT}]
    assert view(rt).stalled is None  # cleared once the new process got past the crash


def test_reads_fail_fast_with_the_stall_while_the_process_waits_to_start_again(
        process_runtime: Runtime) -> None:
    rt = process_runtime
    new_runs(rt, 1)
    assert rows(rt, COUNT_RUNS) == [{"n": 1 + PARENT}]
    pid = kill_view(rt)  # then 1 s before a new start
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot advance"):
        rows(rt, COUNT_RUNS)
    assert time.monotonic() - started < 0.5
    wait_until(lambda: view(rt).pid != pid)
    assert rows(rt, COUNT_RUNS) == [{"n": 1 + PARENT}]


def test_past_its_memory_bound_the_process_is_started_again_and_loses_nothing(
        tmp_path: Path) -> None:
    # 128 MiB: below what the engine holds once open, so every batch that advances the
    # view ends its process.
    rt = open_with_process(tmp_path / "data", cypher_max_rss_mb=128)
    failures: list[BaseException] = []
    answers: list[int] = []
    reading = threading.Event()
    reading.set()

    def read_all_the_time() -> None:
        while reading.is_set():
            try:
                answers.append(rows(rt, COUNT_RUNS)[0]["n"])
            except BaseException as exc:  # the test reports every failure
                failures.append(exc)

    reader = threading.Thread(target=read_all_the_time)
    try:
        reader.start()
        for _ in range(3):
            before = view(rt).restarts
            new_runs(rt, 5)
            wait_until(lambda before=before: view(rt).restarts > before)
        reading.clear()
        reader.join()
        assert rows(rt, COUNT_RUNS) == [{"n": 15 + PARENT}]
        assert failures == []
        assert answers == sorted(answers) and answers[-1] == 15 + PARENT  # read-your-writes held
        assert view(rt).stalled is None
    finally:
        reading.clear()
        rt.close()


def test_closing_stops_the_process(tmp_path: Path) -> None:
    rt = open_with_process(tmp_path / "data")
    new_runs(rt, 1)
    assert rows(rt, COUNT_RUNS) == [{"n": 1 + PARENT}]
    pid = view(rt).pid
    assert pid is not None
    rt.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # and the data directory opens again, with the view's database where it was
    again = open_with_process(tmp_path / "data")
    try:
        assert rows(again, COUNT_RUNS) == [{"n": 1 + PARENT}]
    finally:
        again.close()


def test_serve_runs_the_view_in_a_process_of_its_own(server: Server) -> None:
    body = event("COMPLETE", "2026-11-20T10:00:00Z", run_id=str(uuid.uuid4()))
    assert server.post("/api/v1/lineage", content=json.dumps(body),
                       headers={"Content-Type": "application/json"}).status_code == 201
    answer = server.post("/api/v1/cypher", json={"query": COUNT_RUNS})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [{"n": 1 + PARENT}]
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["offsets"]["cypher"] == health["offsets"]["log"]
    assert server.proc is not None
    views = [args for args in _children_of_children(server.proc.pid) if "spawn_main" in args]
    assert len(views) == 1, "no view process under the core"


def _children_of_children(pid: int) -> list[str]:
    import subprocess

    tree = subprocess.run(["ps", "-e", "-ww", "-o", "pid=,ppid=,args="], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    parsed = [(int(p), int(pp), args) for p, pp, args in
              (line.strip().split(None, 2) for line in tree if line.strip())]
    cores = {p for p, pp, _ in parsed if pp == pid}
    return [args for _, pp, args in parsed if pp in cores]


def test_the_view_listens_in_the_data_directory_and_leaves_nothing_behind(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "view.sock").write_text("a killed service's socket")
    made_before = set(Path(tempfile.gettempdir()).glob("dpgraph-view-*"))
    rt = open_with_process(data)
    try:
        new_runs(rt, 1)
        assert rows(rt, COUNT_RUNS) == [{"n": 1 + PARENT}]
        assert (data / "view.sock").is_socket()  # the stale file was replaced
    finally:
        rt.close()
    assert not (data / "view.sock").exists()
    assert set(Path(tempfile.gettempdir()).glob("dpgraph-view-*")) == made_before


def test_a_view_process_never_started_closes(tmp_path: Path) -> None:
    rt = open_runtime(Settings(data_dir=tmp_path / "data"), catch_up=False, view_process=True)
    assert view(rt).pid is None
    rt.close()  # nothing to stop, and no wait
