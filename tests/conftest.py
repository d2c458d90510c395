"""Shared fixtures: real stores on temporary directories, the real app, the demo mesh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from dpgraph.api.app import create_app
from dpgraph.demo import load_demo
from dpgraph.resources import default_home
from dpgraph.runtime import Runtime, open_runtime
from dpgraph.settings import Settings

EXAMPLES = default_home() / "examples"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = open_runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def demo_runtime(runtime: Runtime) -> Runtime:
    load_demo(runtime.registry, runtime.artefacts.examples)
    return runtime


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A `dpgraph serve` process on a fresh data directory (modules may define their own)."""
    from procs import Server  # procs imports this module: imported when first used

    srv = Server(tmp_path / "data", tmp_path)
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def demo_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "demo-data", demo=True)
    with TestClient(create_app(settings)) as c:
        yield c


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def example_product(product_id: str) -> dict:
    return read_yaml(EXAMPLES / "products" / f"{product_id}.yaml")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped test fails the run: a missing install step must not hide behind a skip."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    hidden = len(reporter.stats.get("skipped", [])) + len(reporter.stats.get("xfailed", []))
    if hidden and session.exitstatus == 0:
        reporter.write_line(f"FAILED: {hidden} test(s) skipped or xfailed; every test must run",
                            red=True)
        session.exitstatus = 1
