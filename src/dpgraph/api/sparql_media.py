"""Content negotiation for SPARQL answers: one format for SELECT/ASK results and one for
CONSTRUCT/DESCRIBE graphs, since which of the two a query gives is known only once it runs.

pyoxigraph's ``from_media_type`` resolves the usual aliases (``application/json``,
``application/xml``, parameters such as ``charset``); ``*/*`` or no Accept gets the first
offered type of each kind (SPARQL JSON, Turtle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyoxigraph import QueryResultsFormat, RdfFormat

from dpgraph.api.media import _ranked
from dpgraph.errors import NotAcceptable
from dpgraph.store.base import GRAPH_MEDIA_TYPES, RESULTS_MEDIA_TYPES

# Names some clients send in ``format=`` (SPARQLWrapper: json, xml, turtle, rdf+xml, json-ld,
# csv, tsv) that are not file extensions pyoxigraph knows.
_FORMAT_NAMES = {"turtle": "ttl", "json-ld": "jsonld", "rdf+xml": "rdf", "rdfxml": "rdf",
                 "ntriples": "nt", "n-triples": "nt"}


@dataclass(frozen=True)
class AnswerFormats:
    results: str | None  # for SELECT and ASK; None: the client accepts none
    graph: str | None  # for CONSTRUCT and DESCRIBE


def negotiate_answer(accept: str | None, format_values: list[str]) -> AnswerFormats:
    """The formats to answer in: from the first ``format=`` value naming a format we offer
    (a non-standard parameter some clients send, several times, with values for other
    servers), else from Accept; 406 when the client accepts no format of either kind."""
    for value in format_values:
        if (chosen := _from_format_param(value)) is not None:
            return chosen
    formats = AnswerFormats(_choose(accept, RESULTS_MEDIA_TYPES, _results_media),
                            _choose(accept, GRAPH_MEDIA_TYPES, _graph_media))
    if formats.results is None and formats.graph is None:
        raise NotAcceptable(f"cannot answer Accept: {accept}; offered: "
                            + ", ".join((*RESULTS_MEDIA_TYPES, *GRAPH_MEDIA_TYPES)))
    return formats


def _from_format_param(value: str) -> AnswerFormats | None:
    value = value.strip().lower()
    name = _FORMAT_NAMES.get(value, value)
    results = QueryResultsFormat.from_extension(name) or QueryResultsFormat.from_media_type(value)
    graph = RdfFormat.from_extension(name) or RdfFormat.from_media_type(value)
    formats = AnswerFormats(_offered(results, RESULTS_MEDIA_TYPES),
                            _offered(graph, GRAPH_MEDIA_TYPES))
    return None if formats.results is None and formats.graph is None else formats


def _choose(accept: str | None, offered: tuple[str, ...],
            canonical: Callable[[str], str | None]) -> str | None:
    if not accept:
        return offered[0]
    for neg_q, _, wanted in _ranked(accept):
        if neg_q == 0:
            continue
        if wanted == "*/*":
            return offered[0]
        if wanted.endswith("/*"):
            for media in offered:
                if media.startswith(wanted[:-1]):
                    return media
        elif (media := canonical(wanted)) in offered:
            return media
    return None


def _results_media(media: str) -> str | None:
    return _offered(QueryResultsFormat.from_media_type(media), RESULTS_MEDIA_TYPES)


def _graph_media(media: str) -> str | None:
    return _offered(RdfFormat.from_media_type(media), GRAPH_MEDIA_TYPES)


def _offered(fmt: QueryResultsFormat | RdfFormat | None, offered: tuple[str, ...]) -> str | None:
    if fmt is None:
        return None
    media = fmt.media_type.split(";")[0].strip()
    return media if media in offered else None
