"""Airflow end to end: a real Airflow 3 with its OpenLineage provider runs a two-task DAG over
file assets (`airflow dags test`, no scheduler, no webserver, sqlite metadata) with the HTTP
transport pointed at a live dpgraph server; then the events it sent and their projection are
checked: the job hierarchy (DAG run parent of the task runs) and the dataset lineage.

Airflow lives in its own environment, ``.venv-airflow`` (``scripts/setup.sh``,
``requirements-airflow.txt``): its pins are not the service's. The DAG is
``examples/airflow/dags/orders_pipeline.py``; every name expected below is derived by hand
from it.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from procs import REPO, Server, wait_projected

from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings
from dpgraph.vocab import sparql_prefixes

AIRFLOW = REPO / ".venv-airflow" / "bin" / "airflow"
EXAMPLE = REPO / "examples" / "airflow"
DAG_ID = "dpgraph_orders"
CLEAN, SUMMARIZE = f"{DAG_ID}.clean_orders", f"{DAG_ID}.summarize_orders"
JOBS = (DAG_ID, CLEAN, SUMMARIZE)
NAMESPACE = "dpgraph-airflow-e2e"  # AIRFLOW__OPENLINEAGE__NAMESPACE: the jobs' namespace
FILE_NS = "file"  # file:///abs/path assets: namespace "file", name "/abs/path" (common-io)
COMMAND_TIMEOUT = 150
EVENTS_TIMEOUT = 30.0


@dataclass
class AirflowRun:
    data: Path
    events: list[dict[str, Any]]
    rt: Runtime

    def path(self, name: str) -> str:
        return str(self.data / name)

    def select(self, query: str) -> list[tuple[str, ...]]:
        rows = self.rt.store.select(sparql_prefixes() + query)
        return sorted(tuple(term.value for term in row) for row in rows)


def airflow_env(home: Path, data: Path, server_url: str) -> dict[str, str]:
    """A hermetic environment: no inherited Airflow/OpenLineage/dpgraph settings, Airflow's home,
    sqlite db and DAG folder in the test's directories, OpenLineage over HTTP to dpgraph."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("AIRFLOW", "OPENLINEAGE", "DPGRAPH_"))
           and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env.update({
        "PATH": f"{AIRFLOW.parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONDONTWRITEBYTECODE": "1",  # keep examples/airflow/dags free of __pycache__
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "http", "url": server_url, "endpoint": "api/v1/lineage", "timeout": 10}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
        "AIRFLOW__OPENLINEAGE__SELECTIVE_ENABLE": "False",  # every DAG and task emits
        # Task events are sent from a forked child the task runner waits on up to this long;
        # DAG run events from a process pool that interpreter exit joins: both arrive before
        # `dags test` exits.
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "30",
        "ORDERS_DATA_DIR": str(data),  # read by the DAG file to place its file assets
    })
    return env


def airflow(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(AIRFLOW), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT, check=False)
    if done.returncode != 0:
        pytest.fail(f"airflow {' '.join(args)} exited with {done.returncode}:\n"
                    f"{done.stdout[-4000:]}\n{done.stderr[-8000:]}")
    return done


def received(server: Server) -> list[dict[str, Any]]:
    r = server.get("/api/v1/events/lineage", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


def states(events: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in events:
        if e["job"]["namespace"] == NAMESPACE:
            out.setdefault(e["job"]["name"], set()).add(e["eventType"])
    return out


# Under `airflow dags test` the DAG run never goes through the scheduler's queued -> running
# transition, the only place Airflow (3.3) calls the `on_dag_run_running` listener
# (scheduler_job_runner.py `_start_queued_dagruns`): so no START is sent for the DAG run, only
# its COMPLETE (from `on_dag_run_success`). Task runs send both.
EXPECTED = {DAG_ID: {"COMPLETE"}, CLEAN: {"START", "COMPLETE"}, SUMMARIZE: {"START", "COMPLETE"}}


def wait_events(server: Server) -> list[dict[str, Any]]:
    deadline = time.monotonic() + EVENTS_TIMEOUT
    while True:
        events = received(server)
        got = states(events)
        if all(want <= got.get(job, set()) for job, want in EXPECTED.items()):
            return events
        if time.monotonic() > deadline:
            return events
        time.sleep(0.1)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowRun]:
    if not AIRFLOW.exists():
        pytest.fail(f"{AIRFLOW} is missing: run scripts/setup.sh (it creates .venv-airflow)")
    tmp = tmp_path_factory.mktemp("airflow").resolve()
    home, data, logs = tmp / "airflow-home", tmp / "data", tmp / "logs"
    for d in (home, data, logs):
        d.mkdir()
    shutil.copy(EXAMPLE / "data" / "raw_orders.csv", data / "raw_orders.csv")
    server = Server(tmp / "dpgraph-data", logs)
    server.start()
    try:
        env = airflow_env(home, data, server.url)
        airflow(env, tmp, "db", "migrate")
        airflow(env, tmp, "dags", "test", DAG_ID)
        events = wait_events(server)
        offsets = wait_projected(server)
        assert offsets["projected"] == offsets["log"], offsets
        server.stop()  # the store is single-writer: release it before opening it here
    finally:
        server.kill()
    rt = open_runtime(Settings(data_dir=server.data_dir))
    try:
        yield AirflowRun(data, events, rt)
    finally:
        rt.close()


def test_the_dag_really_transformed_the_files(run: AirflowRun) -> None:
    with open(run.path("clean_orders.csv"), newline="", encoding="utf-8") as f:
        clean = list(csv.DictReader(f))
    assert [r["order_id"] for r in clean] == ["1", "3", "4", "6"]
    with open(run.path("customer_totals.csv"), newline="", encoding="utf-8") as f:
        totals = list(csv.reader(f))
    assert totals == [["customer_id", "orders", "total_amount"],
                      ["c-001", "2", "62.00"], ["c-003", "2", "19.25"]]


def test_task_runs_send_start_and_complete_and_the_dag_run_completes(run: AirflowRun) -> None:
    assert {e["producer"].split("/tree/")[-1].split("/")[0] for e in run.events} == {
        "providers-openlineage"}  # the real Airflow provider sent them all
    got = states(run.events)
    assert set(got) == set(JOBS), got
    for job, want in EXPECTED.items():
        assert want <= got[job], (job, got[job])
    assert not any(s & {"FAIL", "ABORT"} for s in got.values()), got
    # One run per job; the task runs name the DAG run (and root) in their parent facet.
    run_ids = {job: {e["run"]["runId"] for e in run.events if e["job"]["name"] == job}
               for job in JOBS}
    assert all(len(ids) == 1 for ids in run_ids.values()), run_ids
    (dag_run_id,) = run_ids[DAG_ID]
    for e in run.events:
        if e["job"]["name"] in (CLEAN, SUMMARIZE):
            parent = e["run"]["facets"]["parent"]
            assert parent["run"]["runId"] == dag_run_id
            assert parent["job"] == {"namespace": NAMESPACE, "name": DAG_ID, "facets": {}}
            assert parent["root"]["run"]["runId"] == dag_run_id


def test_each_task_run_is_a_child_of_the_dag_run(run: AirflowRun) -> None:
    rows = run.select(f"""
        SELECT DISTINCT ?job ?runId WHERE {{
          ?run dpg:ofJob ?j ; dct:identifier ?runId .
          ?j dpg:jobName ?job ; dpg:inNamespace/dct:identifier "{NAMESPACE}" .
        }}""")
    assert [job for job, _ in rows] == sorted(JOBS), rows  # one run per job
    run_id = dict(rows)
    children = run.select(f"""
        SELECT DISTINCT ?child ?parent ?root WHERE {{
          ?c dpg:parentRun ?p ; dpg:ofJob/dpg:jobName ?child .
          ?p dct:identifier ?parent .
          OPTIONAL {{ ?c dpg:rootRun/dct:identifier ?root }}
          ?c dpg:ofJob/dpg:inNamespace/dct:identifier "{NAMESPACE}" .
        }}""")
    dag_run = run_id[DAG_ID]
    assert children == [(CLEAN, dag_run, dag_run), (SUMMARIZE, dag_run, dag_run)]
    jobs = run.select(f"""
        SELECT DISTINCT ?child ?parent WHERE {{
          ?c dpg:parentJob ?p ; dpg:jobName ?child ; dpg:inNamespace/dct:identifier "{NAMESPACE}".
          ?p dpg:jobName ?parent .
        }}""")
    assert jobs == [(CLEAN, DAG_ID), (SUMMARIZE, DAG_ID)]


def lineage(run: AirflowRun, edge: str) -> list[tuple[str, ...]]:
    """(job name, dataset name) of every `dpg:reads`/`dpg:writes` edge to a file dataset."""
    return run.select(f"""
        SELECT DISTINCT ?job ?ds WHERE {{
          ?run dpg:{edge} ?d ; dpg:ofJob/dpg:jobName ?job .
          ?d dpg:datasetName ?ds ; dpg:inNamespace/dct:identifier "{FILE_NS}" .
        }}""")


def test_the_first_task_writes_the_file_the_second_reads(run: AirflowRun) -> None:
    raw, clean, totals = (run.path(n) for n in
                          ("raw_orders.csv", "clean_orders.csv", "customer_totals.csv"))
    assert lineage(run, "reads") == sorted([(CLEAN, raw), (SUMMARIZE, clean)])
    assert lineage(run, "writes") == sorted([(CLEAN, clean), (SUMMARIZE, totals)])
    # The chain raw -> clean -> totals through the two task runs, in one query.
    chain = run.select(f"""
        SELECT DISTINCT ?first ?second WHERE {{
          ?r1 dpg:writes ?d ; dpg:ofJob/dpg:jobName ?first .
          ?r2 dpg:reads ?d ; dpg:ofJob/dpg:jobName ?second .
          ?d dpg:datasetName "{clean}" ; dpg:inNamespace/dct:identifier "{FILE_NS}" .
        }}""")
    assert chain == [(CLEAN, SUMMARIZE)]


def test_every_run_completed(run: AirflowRun) -> None:
    """Each run (DAG run and both task runs) has a COMPLETE event about it, none a FAIL/ABORT."""
    def jobs_with(state: str) -> list[tuple[str, ...]]:
        return run.select(f"""
            SELECT DISTINCT ?job WHERE {{
              ?e dpg:aboutRun ?run ; dpg:eventType dpg:{state} .
              ?run dpg:ofJob ?j .
              ?j dpg:jobName ?job ; dpg:inNamespace/dct:identifier "{NAMESPACE}" .
            }}""")

    assert jobs_with("RunCompleted") == [(job,) for job in sorted(JOBS)]
    assert jobs_with("RunStarted") == [(CLEAN,), (SUMMARIZE,)]  # see EXPECTED
    assert jobs_with("RunFailed") == jobs_with("RunAborted") == []
