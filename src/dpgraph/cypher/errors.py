"""Errors of the Cypher surfaces, in dpgraph's one error tree (dpgraph.errors)."""

from __future__ import annotations

from dpgraph.errors import DpgraphError, InvalidInput


class CypherQueryError(InvalidInput):
    """The query (or one of its parameters) was refused; changes nothing."""

    title = "Cypher query refused"


class CypherTimeout(DpgraphError):
    status = 504
    title = "Cypher query timed out"
