"""IRIs minted for the OpenLineage projection.

Every node the mapping of an event creates is named from OpenLineage identities (namespace and
name, run id, event id), never a blank node, so the same event always gives the same quads and
two events that mention the same job, run, dataset or field name the same node.

Layout (under ``https://w3id.org/dpgraph/id/``):

==========================  ===========================================================
``ol/namespace/<ns>``       an OpenLineage namespace (of jobs or datasets)
``ol/job/<ns>/<name>``      a job
``ol/run/<runId>``          a run (run id lower-cased, so UUID spellings agree)
``ol/dataset/<ns>/<name>``  a dataset; its fields are ``…/field/<dotted path>``
``ol/run/<runId>/dataset/<ns>/<name>``  the version of a dataset one run read or wrote
``ol/event/<eventId>``      one received event (sha256 of its canonical JSON)
``graph/lineage-event/<eventId>``  the named graph holding everything that event says
==========================  ===========================================================

Each variable part is percent-encoded with :func:`dpgraph.iris.segment`.
"""

from __future__ import annotations

from functools import lru_cache

from pyoxigraph import NamedNode

from dpgraph.iris import segment
from dpgraph.vocab import ID_NS

OL = f"{ID_NS}ol/"


@lru_cache(maxsize=65536)
def namespace_iri(namespace: str) -> str:
    return f"{OL}namespace/{segment(namespace)}"


@lru_cache(maxsize=65536)
def job_iri(namespace: str, name: str) -> str:
    return f"{OL}job/{segment(namespace)}/{segment(name)}"


@lru_cache(maxsize=65536)
def run_iri(run_id: str) -> str:
    return f"{OL}run/{segment(run_id.lower())}"


@lru_cache(maxsize=65536)
def dataset_iri(namespace: str, name: str) -> str:
    return f"{OL}dataset/{segment(namespace)}/{segment(name)}"


def dataset_version_iri(run_id: str, namespace: str, name: str) -> str:
    return f"{run_iri(run_id)}/dataset/{segment(namespace)}/{segment(name)}"


def field_iri(dataset: str, path: str) -> str:
    """A field of ``dataset`` (an IRI string); ``path`` is the dotted path of nested names."""
    return f"{dataset}/field/{segment(path)}"


def event_iri(event_id: str) -> str:
    return f"{OL}event/{segment(event_id)}"


def event_graph_iri(event_id: str) -> str:
    return f"{ID_NS}graph/lineage-event/{segment(event_id)}"


@lru_cache(maxsize=8192)  # NamedNodes are immutable; making one checks the IRI
def namespace(ns: str) -> NamedNode:
    return NamedNode(namespace_iri(ns))


@lru_cache(maxsize=8192)  # NamedNodes are immutable; making one checks the IRI
def job(ns: str, name: str) -> NamedNode:
    return NamedNode(job_iri(ns, name))


def run(run_id: str) -> NamedNode:
    return NamedNode(run_iri(run_id))


@lru_cache(maxsize=8192)  # NamedNodes are immutable; making one checks the IRI
def dataset(ns: str, name: str) -> NamedNode:
    return NamedNode(dataset_iri(ns, name))


def dataset_version(run_id: str, ns: str, name: str) -> NamedNode:
    return NamedNode(dataset_version_iri(run_id, ns, name))


def field(ns: str, name: str, path: str) -> NamedNode:
    return NamedNode(field_iri(dataset_iri(ns, name), path))


def event(event_id: str) -> NamedNode:
    return NamedNode(event_iri(event_id))


def event_graph(event_id: str) -> NamedNode:
    return NamedNode(event_graph_iri(event_id))


EVENT_GRAPH_PREFIX = f"{ID_NS}graph/lineage-event/"
