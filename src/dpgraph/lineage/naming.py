"""Dataset locations in one comparable form, after the OpenLineage naming spec.

OpenLineage names a dataset by a namespace (the data source: ``s3://bucket``,
``postgres://host:5432``, ``kafka://broker:9092``, ``bigquery``, ``file`` …) and a name within
it (an object key, ``db.schema.table``, a topic). A registered physical representation names
its data by one ``location`` URI. :func:`normalize_location` turns the first into the form of
the second and :func:`normalize_uri` puts a registered location into that same form, so that a
lineage dataset and a representation match when their normalised strings are equal.

The normal form:

- scheme and host lower-case; ``s3a``/``s3n`` → ``s3``, ``postgresql`` → ``postgres``,
  ``gcs`` → ``gs``, ``bq`` → ``bigquery``, ``abfs``/``wasb`` → ``abfss``/``wasbs``;
- credentials (``user:password@``) dropped, except for Azure's ``container@account``;
- database and broker schemes carry their port (``postgres`` 5432, ``mysql`` 3306,
  ``redshift`` 5439, ``kafka`` 9092 added when missing); ``http``/``https`` drop 80/443;
- no trailing slash; namespace and name joined by exactly one ``/``;
- local files as ``file:///abs/path`` (namespace ``file``, ``file://localhost`` or a bare
  absolute path); remote ones keep their host, ``file://host/path``;
- Snowflake identifiers are case-insensitive: the whole location is lower-cased;
- DuckDB: ``duckdb:///path/file.duckdb`` + ``[db.]schema.table`` →
  ``duckdb:///path/file.duckdb/schema.table`` (the database part, the file's stem, dropped);
- BigQuery: namespace ``bigquery`` + ``project.dataset.table`` →
  ``bigquery:project.dataset.table`` (names are case-sensitive there, so nothing is lowered);
- anything else: ``<namespace>/<name>``.

Both functions are pure string functions; they never touch the network.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(.*)$", re.DOTALL)

SCHEME_ALIASES = {
    "s3a": "s3",
    "s3n": "s3",
    "postgresql": "postgres",
    "gcs": "gs",
    "bq": "bigquery",
    "abfs": "abfss",
    "wasb": "wasbs",
}
DEFAULT_PORTS = {"postgres": "5432", "mysql": "3306", "redshift": "5439", "kafka": "9092"}
IMPLICIT_PORTS = {"http": "80", "https": "443"}
# Schemes whose authority is a path or a container@account, not host[:port] with credentials.
_AUTHORITY_AS_IS = frozenset({"duckdb", "sqlite"})
_KEEP_USERINFO = frozenset({"abfss", "wasbs"})
_CASE_INSENSITIVE = frozenset({"snowflake"})
_POSIX_PATHS = frozenset({"file", "hdfs"})


def _authority(scheme: str, authority: str) -> str:
    if scheme in _AUTHORITY_AS_IS:
        return authority
    if scheme not in _KEEP_USERINFO:
        authority = authority.rpartition("@")[2]
    authority = authority.lower()
    if "," in authority:  # several brokers: kept as given
        return authority
    host, port = authority, ""
    if authority.startswith("["):  # IPv6 literal
        close = authority.find("]")
        host, port = authority[: close + 1], authority[close + 2:]
    elif ":" in authority:
        host, _, port = authority.rpartition(":")
    if not port.isdigit():  # "host:None" (seen from Airflow): no port given
        port = ""
    if not port and scheme in DEFAULT_PORTS and host:
        port = DEFAULT_PORTS[scheme]
    if port and IMPLICIT_PORTS.get(scheme) == port:
        port = ""
    return f"{host}:{port}" if port else host


def _path(scheme: str, path: str) -> str:
    if scheme in _POSIX_PATHS:
        path = re.sub(r"/{2,}", "/", path)
    return path.rstrip("/")


@lru_cache(maxsize=65536)
def normalize_uri(location: str) -> str:
    """A registered representation location (or any dataset URI) in the normal form."""
    loc = location.strip()
    if not loc:
        return loc
    if loc.startswith("/"):
        return normalize_uri(f"file://{loc}")
    match = _SCHEME.match(loc)
    if match is None:
        return loc.rstrip("/") or loc
    scheme = SCHEME_ALIASES.get(match[1].lower(), match[1].lower())
    rest = match[2]
    if scheme == "file":
        if rest.startswith("//"):
            authority, _, path = rest[2:].partition("/")
            authority = authority.lower()
            if authority == "localhost":
                authority = ""
        else:  # file:/abs/path or file:relative
            authority, path = "", rest.lstrip("/")
        return f"file://{authority}/{_path(scheme, path)}"
    if scheme == "bigquery" and rest.startswith("//"):
        rest = rest[2:]
    if rest.startswith("//"):
        authority, _, path = rest[2:].partition("/")
        out = f"{scheme}://{_authority(scheme, authority)}"
        path = _path(scheme, path)
        if path:
            out = f"{out}/{path}"
    else:  # opaque: bigquery:p.d.t, arn:aws:glue:…
        out = f"{scheme}:{rest.rstrip('/')}"
    return out.lower() if scheme in _CASE_INSENSITIVE else out


@lru_cache(maxsize=65536)
def normalize_location(namespace: str, name: str) -> str | None:
    """The location of the OpenLineage dataset (namespace, name), in the normal form.

    None when the namespace is empty (nothing to locate the dataset in).
    """
    ns, nm = namespace.strip(), name.strip()
    if not ns:
        return None
    if not nm:
        return normalize_uri(ns)
    lowered = ns.lower()
    if lowered == "file":
        return normalize_uri(f"file:///{nm.lstrip('/')}")
    if lowered == "bigquery":
        return f"bigquery:{nm}"
    match = _SCHEME.match(ns)
    if match is not None:
        scheme = SCHEME_ALIASES.get(match[1].lower(), match[1].lower())
        if scheme == "duckdb":
            parts = nm.split(".")
            if len(parts) >= 3:  # database.schema.table: the database is the file itself
                nm = ".".join(parts[-2:])
        if scheme == "bigquery":
            return normalize_uri(f"bigquery:{nm}")
    return normalize_uri(f"{ns.rstrip('/')}/{nm.lstrip('/')}")
