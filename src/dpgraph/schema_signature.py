"""The hash of a set of (name, type) pairs, as schema_drift compares them: names and types
lowercased, order ignored. Both the RDF graph (the latest-schema and links graphs) and the
property-graph view store it, so that the query skips every representation whose columns
are the latest schema of its dataset (see dpgraph.cypher.schema_signature for the view's
merge of same-instant schemas)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

HASH_CHARS = 32  # the Cypher query reads the hash as ``right(x, 32)``


def signature(pairs: Iterable[tuple[str, str | None]]) -> str | None:
    """The hash of these (name, type) pairs, or None when they cannot be compared by hash."""
    distinct = set(pairs)
    lowered: dict[str, str] = {}
    for name, type_ in distinct:
        if type_ is None or not name.isascii() or not type_.isascii():
            return None
        if name.lower() in lowered:
            return None
        lowered[name.lower()] = type_.lower()
    text = json.dumps(sorted(lowered.items()), separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=HASH_CHARS // 2).hexdigest()
