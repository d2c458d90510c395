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
    """A commit of the embedded view, or the checkpoint after it, failed (out of page cache,
    or another engine error): the view takes no more writes until a restart rebuilds it
    from the log (/health shows the message)."""
