"""Read queries over the Cypher view: allowlist check, read-your-writes, timeout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dpgraph.cypher.projection import CypherView
from dpgraph.cypher.readonly import check_read_only
from dpgraph.log.sqlite_log import SqliteLog


class CypherQueries:
    def __init__(self, view: CypherView, event_log: SqliteLog, *, timeout: float) -> None:
        self._view = view
        self._log = event_log
        self.timeout = timeout

    def rows(self, text: str, params: Mapping[str, Any] | None = None, *,
             timeout: float) -> list[dict[str, Any]]:
        """Rows of a read-only query (the named queries' runner calls this)."""
        checked = check_read_only(text)
        self._view.wait_for(self._log.head())
        return self._view.backend.query(checked.text, params or {},
                                        timeout=min(timeout, self.timeout))

    def query(self, text: str, params: Mapping[str, Any] | None = None,
              timeout: float | None = None) -> dict[str, Any]:
        """Rows of a read-only query, over a view holding every write acknowledged so far.
        ``timeout`` may shorten the configured one (DPGRAPH_CYPHER_TIMEOUT), not extend it."""
        checked = check_read_only(text)
        self._view.wait_for(self._log.head())
        seconds = self.timeout if timeout is None else min(timeout, self.timeout)
        rows = self._view.backend.query(checked.text, params or {}, timeout=seconds)
        return {"columns": list(rows[0]) if rows else [], "rows": rows, "count": len(rows)}
