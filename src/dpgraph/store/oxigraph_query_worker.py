"""The child side of user queries on the embedded store: a process that opens a read-only
snapshot of the store, runs one query at a time and sends back the serialised answer.

pyoxigraph's ``query()`` takes no timeout and cannot be interrupted, so a query that must stop
at a deadline runs here, where the parent can kill it (see :mod:`dpgraph.store.query_workers`).
Run as ``python -m dpgraph.store.oxigraph_query_worker``; messages come on stdin and go back
on stdout, pickled: in ``(snapshot_dir, UserQuery)``, out ``("ok", body, media_type)`` or
``(error_kind, message)`` with kind ``syntax``, ``not-acceptable`` or ``failed``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from pyoxigraph import (
    NamedNode,
    QueryResultsFormat,
    QueryTriples,
    RdfFormat,
    Store,
    serialize,
)

from dpgraph.store.base import GRAPH_MEDIA_TYPES, RESULTS_MEDIA_TYPES, UserQuery
from dpgraph.vocab import PREFIXES

ORPHAN_CHECK_SECONDS = 0.5


class _NotAcceptable(Exception):
    pass


def main() -> None:
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    # The messages own the original stdin and stdout; anything else written to fd 1 (a
    # stray print, a native library) goes to stderr instead of corrupting them.
    requests = Connection(os.dup(0), writable=False)
    replies = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(requests, replies)


def serve(requests: Connection, replies: Connection) -> None:
    """Answer queries until the parent closes its end."""
    opened: tuple[str, Store] | None = None
    while True:
        try:
            snapshot, query = requests.recv()
        except (EOFError, OSError):
            return
        if opened is None or opened[0] != snapshot:
            opened = None  # close the older snapshot before opening the newer one
            opened = (snapshot, Store.read_only(snapshot))
        replies.send(answer(opened[1], query))


def answer(store: Store, query: UserQuery) -> tuple[Any, ...]:
    try:
        result = store.query(query.sparql, **dataset_options(query))
        if isinstance(result, QueryTriples):
            return ("ok", *_graph(result, query.graph_media))
        return ("ok", *_results(result, query.results_media))
    except SyntaxError as exc:
        return ("syntax", str(exc))
    except _NotAcceptable as exc:
        return ("not-acceptable", str(exc))
    except Exception as exc:  # reported to the parent, which logs it and answers 500
        return ("failed", f"{type(exc).__name__}: {exc}")


def dataset_options(query: UserQuery) -> dict[str, Any]:
    if not (query.default_graphs or query.named_graphs):
        return {"use_default_graph_as_union": query.union_default_graph}
    return {"default_graph": [NamedNode(g) for g in query.default_graphs],
            "named_graphs": [NamedNode(g) for g in query.named_graphs]}


def _graph(triples: QueryTriples, media: str | None) -> tuple[bytes, str]:
    if media is None:
        raise _NotAcceptable("a CONSTRUCT or DESCRIBE query answers in one of: "
                             + ", ".join(GRAPH_MEDIA_TYPES))
    fmt = RdfFormat.from_media_type(media)
    assert fmt is not None, media
    return serialize(triples, format=fmt, prefixes=PREFIXES), fmt.media_type


def _results(results: Any, media: str | None) -> tuple[bytes, str]:
    if media is None:
        raise _NotAcceptable("a SELECT or ASK query answers in one of: "
                             + ", ".join(RESULTS_MEDIA_TYPES))
    fmt = QueryResultsFormat.from_media_type(media)
    assert fmt is not None, media
    return results.serialize(format=fmt), fmt.media_type


def _exit_when_orphaned(parent: int) -> None:
    """Exit when the service dies, even in the middle of a runaway query (pyoxigraph releases
    the GIL while it evaluates). Not prctl(PR_SET_PDEATHSIG): it fires when the parent
    *thread* ends, and workers are started from request threads that come and go."""
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


if __name__ == "__main__":
    main()
