"""The command line and the service as real processes: validate, serve, register, deprecate,
replay, and what survives a stop (SIGTERM) or a crash (SIGKILL)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import example_product
from procs import PRODUCT_IDS, REPO, Server, dpgraph, finding_lines, free_port

from dpgraph.demo import demo_lineage_files


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("served")
    srv = Server(root / "data", root)
    srv.start(demo=True)
    try:
        yield srv
    finally:
        srv.kill()


# ------------------------------------------------------------------ offline validation
def test_validate_accepts_a_valid_product() -> None:
    r = dpgraph("validate", "examples/products/customer-profile.yaml",
                "--catalog", "examples/catalog.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == (
        "ok: examples/products/customer-profile.yaml is valid (0 warning(s))")
    assert r.stderr == ""


def test_validate_refuses_a_broken_product_with_the_fix() -> None:
    r = dpgraph("validate", "examples/broken/missing-owner.yaml",
                "--catalog", "examples/catalog.yaml")
    assert r.returncode == 1
    [line] = finding_lines(r.stdout)
    assert line.startswith("violation: owner: ")
    assert "Add `owner`" in line
    assert "ok:" not in r.stdout
    assert "refused" in r.stderr and "broken-missing-owner" in r.stderr


def test_validate_needs_join_key_targets_as_context() -> None:
    alone = dpgraph("validate", "examples/products/sales-orders.yaml",
                    "--catalog", "examples/catalog.yaml")
    assert alone.returncode == 1
    [line] = finding_lines(alone.stdout)
    assert line.startswith("violation: joinKeys[0].references: ")
    assert "customer-profile" in line and "register that product first" in line

    with_target = dpgraph("validate", "examples/products/sales-orders.yaml",
                          "--catalog", "examples/catalog.yaml",
                          "--context", "examples/products/customer-profile.yaml")
    assert with_target.returncode == 0, with_target.stdout + with_target.stderr
    assert "ok: examples/products/sales-orders.yaml is valid" in with_target.stdout


def test_validate_a_catalog_and_unreadable_files() -> None:
    catalog = dpgraph("validate", "examples/catalog.yaml")
    assert catalog.returncode == 0, catalog.stdout + catalog.stderr
    assert "ok: examples/catalog.yaml is valid" in catalog.stdout
    missing = dpgraph("validate", "examples/products/no-such-file.yaml")
    assert missing.returncode == 1
    assert "cannot read examples/products/no-such-file.yaml" in missing.stderr
    assert "Traceback" not in missing.stderr


# ------------------------------------------------------------------ against a served mesh
def test_served_demo_lists_the_example_products(server: Server) -> None:
    products = server.products()
    assert sorted(p["id"] for p in products) == PRODUCT_IDS
    assert len(products) == 10
    health = server.get("/health").json()
    assert health["status"] == "ok"
    assert health["offsets"]["log"] == health["offsets"]["projected"] >= 11
    # ... and the lineage of examples/lineage and examples/lineage-dbt, through the receiver.
    recorded = len(demo_lineage_files(REPO / "examples"))
    events = server.get("/api/v1/events/lineage", params={"limit": 100}).json()
    assert events["totalCount"] == recorded == 14 + 18
    job = server.get("/api/v1/namespaces/mesh-dbt/jobs/mesh.logistics_shipments")
    assert job.status_code == 200, job.text


def test_cli_register_of_an_identical_product_is_unchanged(server: Server) -> None:
    head = server.offsets()["log"]
    r = dpgraph("register", "examples/products/customer-profile.yaml", "--server", server.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("ok: customer-profile unchanged")
    assert server.offsets()["log"] == head


def test_cli_register_dry_run_writes_nothing(server: Server, tmp_path: Path) -> None:
    changed = {**example_product("customer-profile"), "version": "2.9.0"}
    path = tmp_path / "customer-profile.yaml"
    path.write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")
    head = server.offsets()["log"]
    r = dpgraph("register", path, "--dry-run", "--server", server.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok: customer-profile would be registered" in r.stdout
    assert server.offsets()["log"] == head
    assert server.get("/api/v1/products/customer-profile").json()["version"] != "2.9.0"


@pytest.mark.parametrize("name", ["missing-owner.yaml", "no-elements.yaml"])
def test_cli_register_of_a_broken_product_prints_one_line_per_error(server: Server,
                                                                    name: str) -> None:
    path = f"examples/broken/{name}"
    api = server.post("/api/v1/products", content=(REPO / path).read_bytes(),
                      headers={"Content-Type": "application/yaml"})
    assert api.status_code == 422
    errors = api.json()["errors"]
    head = server.offsets()["log"]

    r = dpgraph("register", path, "--server", server.url)
    assert r.returncode == 1
    assert len(errors) >= 1
    # one line per error, "<severity>: <field>: <message>  [<rule>]" (order is not fixed)
    expected = [f"{e['severity']}: {e['field']}: {e['message']}  [{e['rule']}]" for e in errors]
    assert sorted(finding_lines(r.stdout)) == sorted(expected)
    assert "error: 422 Registration refused" in r.stderr
    assert server.offsets()["log"] == head


def test_cli_against_an_unreachable_server_fails_cleanly() -> None:
    r = dpgraph("register", "examples/products/customer-profile.yaml",
                "--server", f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "cannot reach dpgraph" in r.stderr
    assert "Traceback" not in r.stderr


def test_acknowledged_writes_survive_stop_replay_and_restart(server: Server) -> None:
    r = dpgraph("deprecate", "customer-consent", "--reason", "merged into customer-profile",
                "--successor", "customer-profile", "--server", server.url)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("ok: customer-consent deprecated (log offset ")
    unknown = dpgraph("deprecate", "no-such-product", "--server", server.url)
    assert unknown.returncode == 1
    assert "404" in unknown.stderr and "no-such-product" in unknown.stderr

    before = server.products()
    assert {p["id"]: p["status"] for p in before}["customer-consent"] == "deprecated"
    head = server.offsets()["log"]

    # the running service holds the data directory: replay must refuse, and change nothing
    assert server.proc is not None
    busy = dpgraph("replay", "--data-dir", server.data_dir)
    assert busy.returncode == 1
    assert "in use" in busy.stderr
    assert f"pid {server.proc.pid}" in busy.stderr
    assert server.products() == before

    # uvicorn shuts down gracefully, then re-raises SIGTERM so the parent sees the signal
    assert server.stop() in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in server.output()
    replay = dpgraph("replay", "--data-dir", server.data_dir)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert replay.stdout.startswith(f"ok: replayed {head} log records")

    server.start(demo=False)
    assert server.offsets() == {"log": head, "projected": head, "search": head, "cypher": head}
    assert server.products() == before
    consent = server.get("/api/v1/products/customer-consent").json()
    assert consent["lifecycleStatus"] == "deprecated"
    versions = server.get("/api/v1/products/customer-consent/versions").json()
    assert versions[-1]["event"] == "product.deprecated"
    assert versions[-1]["reason"] == "merged into customer-profile"


def test_a_registration_survives_sigkill_right_after_its_201(server: Server) -> None:
    changed = {**example_product("finance-revenue-daily"), "version": "1.1.0"}
    r = server.post("/api/v1/products", content=yaml.safe_dump(changed, sort_keys=False),
                    headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    offset = r.json()["logOffset"]
    server.kill()  # SIGKILL: no shutdown hook runs

    server.start(demo=False)
    offsets = server.offsets()
    assert offsets["log"] == offsets["projected"] >= offset
    got = server.get("/api/v1/products/finance-revenue-daily").json()
    assert got["version"] == "1.1.0"
    versions = server.get("/api/v1/products/finance-revenue-daily/versions").json()
    assert versions[-1]["logOffset"] == offset
    assert versions[-1]["version"] == "1.1.0"
    listed = {p["id"]: p for p in server.products()}
    assert listed["finance-revenue-daily"]["version"] == "1.1.0"
    assert sorted(listed) == PRODUCT_IDS
