"""dbt end to end: the real dbt producer (dbt-core 1.11, dbt-duckdb, openlineage-dbt's
``dbt-ol``) builds the example mesh project with its HTTP transport pointed at a live dpgraph
server; then the models, their schema and column lineage, the run hierarchy and a broken
model's FAIL are read back through dpgraph's Marquez-shaped API.

dbt lives in its own environment, ``.venv-dbt`` (``scripts/setup.sh``,
``requirements-dbt.txt``). The project is ``examples/dbt/mesh`` (seeds, staging views, marts),
copied to the test's directory. The sequence is what a team does: ``dbt build`` and
``dbt docs generate`` (the catalog gives openlineage-dbt the column types), then
``dbt-ol build``, whose events dpgraph receives; then a broken model is added and
``dbt-ol run --select broken`` fails. Every name expected below is derived by hand from the
project: jobs ``<database>.<schema>.<project>.<model>.build.run`` in namespace ``dbt``
(``OPENLINEAGE_NAMESPACE`` unset), datasets ``<database>.<schema>.<model>`` in namespace
``duckdb://<database file>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from procs import REPO, Server, wait_projected

DBT_BIN = REPO / ".venv-dbt" / "bin"
PROJECT = REPO / "examples" / "dbt" / "mesh"
COMMAND_TIMEOUT = 120
JOB_NS = "dbt"
PARENT = "dbt-run-mesh"
MODELS = ("stg_customers", "stg_orders", "sales_orders", "customer_order_totals")
BROKEN_SQL = "select o.missing_column from {{ ref('stg_orders') }} as o\n"


def model_job(model: str) -> str:
    return f"mesh.main.mesh.{model}.build.run"


@dataclass
class DbtMesh:
    server: Server
    dataset_ns: str
    results: dict[str, subprocess.CompletedProcess[str]]

    def get(self, path: str, **params: Any) -> Any:
        r = self.server.get(path, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def job(self, name: str) -> dict[str, Any]:
        return self.get(f"/api/v1/namespaces/{JOB_NS}/jobs/{quote(name, safe='')}")

    def dataset(self, name: str) -> dict[str, Any]:
        return self.get(f"/api/v1/namespaces/{quote(self.dataset_ns, safe='')}/datasets/"
                        f"{quote(name, safe='')}")


def dbt_env(server_url: str, database: Path) -> dict[str, str]:
    """A hermetic environment: no inherited dbt/OpenLineage settings or proxies, the dbt venv
    first on PATH (dbt-ol starts ``dbt``), the transport pointed at dpgraph, no telemetry."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("DBT_", "OPENLINEAGE", "DPGRAPH_", "VIRTUAL_ENV"))
           and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env.update({
        "PATH": f"{DBT_BIN}{os.pathsep}{env.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "OPENLINEAGE_URL": server_url,
        "MESH_DUCKDB_PATH": str(database),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtMesh]:
    assert (DBT_BIN / "dbt-ol").exists(), "run `bash scripts/setup.sh` to create .venv-dbt"
    tmp = tmp_path_factory.mktemp("dbt")
    project = tmp / "mesh"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    database = tmp / "mesh.duckdb"
    server = Server(tmp / "data", tmp)
    server.start()
    try:
        env = dbt_env(server.url, database)

        def dbt(name: str, *args: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([str(DBT_BIN / args[0]), *args[1:], "--profiles-dir", "."],
                                  cwd=project, env=env, capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT, check=False)
            (tmp / f"{name}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
            return done

        results = {"build": dbt("build", "dbt", "build"),
                   "docs": dbt("docs", "dbt", "docs", "generate")}
        for name in results:
            assert results[name].returncode == 0, results[name].stdout + results[name].stderr
        results["ol-build"] = dbt("ol-build", "dbt-ol", "build")
        assert results["ol-build"].returncode == 0, results["ol-build"].stdout
        (project / "models" / "marts" / "broken.sql").write_text(BROKEN_SQL, encoding="utf-8")
        results["broken"] = dbt("broken", "dbt-ol", "run", "--select", "broken")
        offsets = wait_projected(server)
        assert offsets["projected"] == offsets["log"]
        yield DbtMesh(server, f"duckdb://{database}", results)
    finally:
        server.kill()


def test_models_are_jobs_whose_runs_have_the_dbt_run_as_parent(mesh: DbtMesh) -> None:
    jobs = mesh.get(f"/api/v1/namespaces/{JOB_NS}/jobs")
    assert sorted(j["name"] for j in jobs["jobs"]) == sorted([
        PARENT, "mesh.main.mesh.broken", "mesh.main.mesh.sales_orders.build.test",
        *map(model_job, MODELS)])
    parents = set()
    for model in MODELS:
        job = mesh.job(model_job(model))
        assert job["parentJob"] == {"namespace": JOB_NS, "name": PARENT}
        assert job["facets"]["jobType"] == {"processingType": "BATCH", "integration": "DBT",
                                            "jobType": "MODEL"}
        assert job["outputs"] == [{"namespace": mesh.dataset_ns, "name": f"mesh.main.{model}"}]
        run = job["latestRun"]
        assert run["state"] == "COMPLETED" and run["endedAt"] >= run["startedAt"]
        assert run["parentRun"]["job"] == {"namespace": JOB_NS, "name": PARENT}
        parents.add(run["parentRun"]["id"])
    (parent_id,) = parents  # one dbt invocation is the parent of every model run
    parent = mesh.get(f"/api/v1/jobs/runs/{parent_id}")
    assert (parent["state"], parent["job"]) == ("COMPLETED", {"namespace": JOB_NS,
                                                              "name": PARENT})
    sales = mesh.job(model_job("sales_orders"))
    assert sales["inputs"] == [{"namespace": mesh.dataset_ns, "name": "mesh.main.stg_orders"}]
    assert "o.net_amount + o.tax_amount as gross_amount" in sales["facets"]["sql"]["query"]
    totals = mesh.job(model_job("customer_order_totals"))
    assert totals["inputs"] == [
        {"namespace": mesh.dataset_ns, "name": "mesh.main.sales_orders"},
        {"namespace": mesh.dataset_ns, "name": "mesh.main.stg_customers"}]


def test_the_mart_has_its_schema_and_column_lineage(mesh: DbtMesh) -> None:
    sales = mesh.dataset("mesh.main.sales_orders")
    assert sales["description"] == "One row per order with its status and totals."
    assert sorted((f["name"], f["type"]) for f in sales["fields"]) == sorted([
        ("order_id", "VARCHAR"), ("customer_id", "VARCHAR"), ("ordered_at", "TIMESTAMP"),
        ("order_status", "VARCHAR"), ("sales_channel", "VARCHAR"),
        ("shipping_country", "VARCHAR"), ("currency_code", "VARCHAR"),
        ("net_amount", "DOUBLE"), ("tax_amount", "DOUBLE"), ("gross_amount", "DOUBLE")])
    (version,) = mesh.get(f"/api/v1/namespaces/{quote(mesh.dataset_ns, safe='')}/datasets/"
                          "mesh.main.sales_orders/versions")["versions"]
    assert version["createdByRun"]["state"] == "COMPLETED"
    assert {f["name"] for f in version["fields"]} == {f["name"] for f in sales["fields"]}

    def field(dataset: str, name: str) -> str:
        return f"datasetField:{mesh.dataset_ns}:mesh.main.{dataset}:{name}"

    gross = field("sales_orders", "gross_amount")
    graph = mesh.get("/api/v1/column-lineage", nodeId=gross, depth=1)["graph"]
    net, tax = field("stg_orders", "net_amount"), field("stg_orders", "tax_amount")
    assert [n["id"] for n in graph] == [gross, net, tax]
    assert [(i["dataset"], i["field"]) for i in graph[0]["data"]["inputFields"]] == [
        ("mesh.main.stg_orders", "net_amount"), ("mesh.main.stg_orders", "tax_amount")]
    assert graph[0]["data"]["fieldType"] == "DOUBLE"
    assert [e["origin"] for e in graph[0]["inEdges"]] == [net, tax]

    lineage = mesh.get("/api/v1/lineage", depth=2,
                       nodeId=f"dataset:{mesh.dataset_ns}:mesh.main.sales_orders")["graph"]
    assert sorted(n["id"] for n in lineage) == sorted([
        f"dataset:{mesh.dataset_ns}:mesh.main.{name}"
        for name in ("stg_orders", "sales_orders", "customer_order_totals")] + [
        f"job:{JOB_NS}:{name}" for name in (
            model_job("sales_orders"), model_job("customer_order_totals"),
            "mesh.main.mesh.sales_orders.build.test")])


def test_a_broken_model_fails(mesh: DbtMesh) -> None:
    assert mesh.results["broken"].returncode != 0
    job = mesh.job("mesh.main.mesh.broken")
    run = job["latestRun"]
    assert run["state"] == "FAILED" and run["endedAt"] is not None
    assert run["parentRun"]["job"] == {"namespace": JOB_NS, "name": PARENT}
    parent = mesh.get(f"/api/v1/jobs/runs/{run['parentRun']['id']}")
    assert parent["state"] == "FAILED"
    assert mesh.job(PARENT)["latestRun"]["id"] == parent["id"]
