"""What a user's SPARQL text asks for beyond reading: updates, LOAD, SERVICE; and whether it
names its own dataset (FROM / FROM NAMED).

oxigraph decides the syntax (its parser runs the query), but pyoxigraph exposes no parse
tree, and it would call any SERVICE endpoint while evaluating. These questions are answered
by rdflib's SPARQL parser, imported on first use. It costs ~2 ms for a trivial query and
~16 ms for a typical one (measured here), so it only runs when the answer is not already
certain: a query in which the letters ``service`` (or ``from``) appear nowhere cannot hold
a SERVICE (or FROM) clause, SPARQL keywords having no escaped form; only when they appear
(a clause, or merely a literal, an IRI, a name) does the parser decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dpgraph.errors import Finding, ReadOnlyQuery

_SERVICE = re.compile("service", re.IGNORECASE)
_FROM = re.compile("from", re.IGNORECASE)


@dataclass(frozen=True)
class QueryShape:
    names_dataset: bool  # has FROM or FROM NAMED: its own default graph, not the union


def inspect_query(sparql: str) -> QueryShape:
    """Refuse SERVICE (ReadOnlyQuery); tell whether the query names its dataset."""
    might_serve, might_name = bool(_SERVICE.search(sparql)), bool(_FROM.search(sparql))
    if not (might_serve or might_name):
        return QueryShape(names_dataset=False)
    tree = _parse_query(sparql)
    if might_serve and (tree is None or _has(tree, "ServiceGraphPattern")):
        reason = ("the query calls another endpoint with SERVICE" if tree is not None else
                  "the query mentions SERVICE and could not be checked to hold no SERVICE "
                  "clause")
        raise _refusal(reason, "sparql:read-only:service")
    return QueryShape(names_dataset=tree is not None and _has_dataset_clause(tree))


def refuse_if_update(sparql: str) -> None:
    """Called when the query parser refused the text: if it is a SPARQL Update (or LOAD),
    say so instead of reporting a syntax error."""
    operations = _parse_update(sparql)
    if operations is None:
        return
    if "Load" in operations:
        raise _refusal("LOAD is refused: the endpoint is read-only", "sparql:read-only:load")
    raise _refusal(f"SPARQL Update ({', '.join(operations)}) is refused: the endpoint is "
                   "read-only", "sparql:read-only:update")


def refuse_update_request() -> None:
    raise _refusal("SPARQL Update is refused: the endpoint is read-only",
                   "sparql:read-only:update")


def _refusal(message: str, rule: str) -> ReadOnlyQuery:
    return ReadOnlyQuery(message, errors=[Finding("violation", message, "query", rule)])


# rdflib's parser raises pyparsing's ParseException, and other errors from its parse
# actions (an undeclared prefix, a bad IRI); any of them means "not parsed".
def _parse_query(sparql: str) -> Any | None:
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        return parseQuery(sparql)
    except Exception:
        return None


def _parse_update(sparql: str) -> list[str] | None:
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        update = parseUpdate(sparql)
    except Exception:
        return None
    return [operation.name for operation in update.get("request", [])]


def _has_dataset_clause(tree: Any) -> bool:
    _prologue, query = tree  # sub-queries have no dataset clause
    return "datasetClause" in query


def _has(tree: Any, name: str) -> bool:
    return any(node.name == name for node in _nodes(tree))


def _nodes(tree: Any) -> Iterator[Any]:
    """Every CompValue (rdflib's parse tree node) in ``tree``, depth first."""
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)
