"""Typed settings, read once at the edge (CLI / app factory) from DPGRAPH_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dpgraph.resources import default_home


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DPGRAPH_", extra="forbid")

    data_dir: Path = Field(Path("dpgraph-data"), description="embedded store and log directory")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    store: Literal["oxigraph", "sparql"] = Field(
        "oxigraph", description="graph store backend: embedded oxigraph, or SPARQL 1.1 over HTTP")
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="largest accepted body")
    demo: bool = False
    access_log: bool = Field(False, description="log every HTTP request (noisy under load)")
    ingest_process: bool = Field(
        True, description="`dpgraph serve` acknowledges lineage events in a process of its "
        "own and forwards every other request to a core process that projects and answers")
    ingest_workers: int = Field(
        2, ge=1, le=64, description="processes acknowledging lineage events on the service's "
        "port (the front and ingest_workers - 1 more; with ingest_process)")
    server_url: str = Field("http://127.0.0.1:8080", description="service the CLI talks to")
    sparql_timeout: float = Field(30.0, gt=0, description="longest a /sparql query may run, "
                                  "in seconds; a request's timeout parameter may only lower it")
    cypher: str = Field("embedded", description="Cypher view backend: embedded (Kùzu) "
                        "or a registered one (bolt)")
    cypher_engine: Literal["kuzu", "real_ladybug"] = Field(
        "kuzu", description="embedded Cypher engine module (real_ladybug needs real-ladybug)")
    cypher_timeout: float = Field(30.0, gt=0, description="longest a Cypher query may run (s)")
    cypher_buffer_pool_mb: int | None = Field(
        None, ge=64, description="page cache of the embedded Cypher engine in MiB; unset: a "
        "quarter of the machine's memory, at least 1 GiB (Kùzu's own default, 80%, lets the "
        "view's cache crowd out the service; 1 GiB could not build the view of 10,000 "
        "products, 2 GiB could)")
    cypher_process: bool = Field(
        True, description="`dpgraph serve` keeps the Cypher view in a process of its own, "
        "started again when its memory passes cypher_max_rss_mb (the engine gives memory "
        "back on exit only)")
    cypher_max_rss_mb: int | None = Field(
        None, ge=128, description="resident memory in MiB past which the view's process is "
        "started again (it resumes from its offset); unset: its page cache plus 256 MiB")
    store_compact_after: int = Field(
        20_000, ge=0, description="compact the embedded graph store in the background once "
        "this many records, and at least as many as at its last compaction, were projected "
        "since it (0: never); a compacted store answers SPARQL ~3x faster")
    home: Path = Field(default_factory=default_home,
                       description="directory holding ontology/, shapes/ and examples/")
    # The remote store (store = "sparql"); see store/sparql_http_store.py.
    sparql_query_url: str | None = Field(None, description="SPARQL 1.1 Query endpoint")
    sparql_update_url: str | None = Field(
        None, description="SPARQL 1.1 Update endpoint (default: the query endpoint)")
    sparql_gsp_url: str | None = Field(
        None, description="Graph Store Protocol endpoint, to read one graph (optional)")
    sparql_user: str | None = Field(None, description="user for the SPARQL endpoints")
    sparql_password: SecretStr | None = Field(None, description="its password")
    sparql_auth: Literal["basic", "digest"] = Field("basic", description="HTTP auth scheme")
    # Not sparql_timeout (the /sparql limit, above): a second field of that name silently
    # replaced the first, so one variable set both.
    sparql_store_timeout: float = Field(
        30.0, gt=0, description="seconds per HTTP request to the remote store's endpoints")

    @model_validator(mode="after")
    def _remote_store_has_endpoint(self) -> Settings:
        if self.store == "sparql" and not self.sparql_query_url:
            raise ValueError("DPGRAPH_STORE=sparql needs DPGRAPH_SPARQL_QUERY_URL")
        return self
    bolt_uri: str = Field("bolt://127.0.0.1:7687",
                          description="Bolt server of the Cypher view (backend kind bolt)")
    bolt_user: str = "neo4j"
    bolt_password: SecretStr = SecretStr("")
    bolt_database: str | None = Field(None, description="Neo4j database; None: the default")
    bolt_server: Literal["neo4j", "falkordb"] = Field(
        "neo4j", description="what speaks Bolt there: FalkorDB needs its own workarounds")
    bolt_connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
