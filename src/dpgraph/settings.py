"""Typed settings, read once at the edge (CLI / app factory) from DPGRAPH_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dpgraph.resources import default_home


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DPGRAPH_", extra="forbid")

    data_dir: Path = Field(Path("dpgraph-data"), description="embedded store and log directory")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    store: Literal["oxigraph"] = Field("oxigraph", description="graph store backend kind")
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="largest accepted body")
    demo: bool = False
    access_log: bool = Field(False, description="log every HTTP request (noisy under load)")
    server_url: str = Field("http://127.0.0.1:8080", description="service the CLI talks to")
    cypher: str = Field("embedded", description="Cypher view backend: embedded (Kùzu) "
                        "or a registered one (bolt)")
    cypher_engine: Literal["kuzu", "real_ladybug"] = Field(
        "kuzu", description="embedded Cypher engine module (real_ladybug needs real-ladybug)")
    cypher_timeout: float = Field(30.0, gt=0, description="longest a Cypher query may run (s)")
    home: Path = Field(default_factory=default_home,
                       description="directory holding ontology/, shapes/ and examples/")
