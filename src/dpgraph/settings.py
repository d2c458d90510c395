"""Typed settings, read once at the edge (CLI / app factory) from DPGRAPH_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    home: Path = Field(default_factory=default_home,
                       description="directory holding ontology/, shapes/ and examples/")
    bolt_uri: str = Field("bolt://127.0.0.1:7687",
                          description="Bolt server of the Cypher view (backend kind bolt)")
    bolt_user: str = "neo4j"
    bolt_password: SecretStr = SecretStr("")
    bolt_database: str | None = Field(None, description="Neo4j database; None: the default")
    bolt_server: Literal["neo4j", "falkordb"] = Field(
        "neo4j", description="what speaks Bolt there: FalkorDB needs its own workarounds")
    bolt_connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
