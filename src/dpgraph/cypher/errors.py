"""Errors of the Cypher surfaces, in dpgraph's one error tree (dpgraph.errors)."""

from __future__ import annotations

from dpgraph.errors import DpgraphError, InvalidInput


class CypherQueryError(InvalidInput):
    """The query (or one of its parameters) was refused; changes nothing."""

    title = "Cypher query refused"


class CypherTimeout(DpgraphError):
    status = 504
    title = "Cypher query timed out"


class ViewOutOfMemory(DpgraphError):
    """A write of the view needs more than the embedded engine's page cache (not a client's
    error: the view writes less at a time, or reports it in /health and tries again)."""


class ViewCommitFailed(DpgraphError):
    """The embedded view's database takes no more writes: a commit of it, or the checkpoint
    after it, failed (out of page cache, or another engine error), or a write ran out of
    page cache in its statements. Writes resume once the database is deleted (``clear``:
    the view starts over from the log after the latter, a restart or a rebuild after the
    former); /health shows the message."""
