"""Read queries over the Cypher view: allowlist check, read-your-writes, timeout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dpgraph.cypher.base import Row
from dpgraph.cypher.readonly import check_read_only
from dpgraph.log.sqlite_log import SqliteLog


class ReadableView(Protocol):
    """The view in this process (CypherView) or in its own (ViewProcess)."""

    def read(self, cypher: str, params: Mapping[str, Any], *, timeout: float,
             after: int) -> list[Row]: ...


class CypherQueries:
    def __init__(self, view: ReadableView, event_log: SqliteLog, *, timeout: float) -> None:
        self._view = view
        self._log = event_log
        self.timeout = timeout

    def rows(self, text: str, params: Mapping[str, Any] | None = None, *,
             timeout: float) -> list[dict[str, Any]]:
        """Rows of a read-only query (the named queries' runner calls this)."""
        checked = check_read_only(text)
        return self._view.read(checked.text, params or {}, timeout=min(timeout, self.timeout),
                               after=self._log.head())

    def query(self, text: str, params: Mapping[str, Any] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
        """Rows of a read-only query, over a view holding every write acknowledged so far.
        ``timeout`` may shorten the configured one (DPGRAPH_CYPHER_TIMEOUT), not extend it."""
        rows = self.rows(text, params, timeout=self.timeout if timeout is None else timeout)
        return {"columns": list(rows[0]) if rows else [], "rows": rows, "count": len(rows)}
