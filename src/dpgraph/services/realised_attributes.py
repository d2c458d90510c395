"""Which lineage fields are which registered columns: ``?field dpg:realisesAttribute
?column`` in the links graph, for every top-level field of a linked dataset whose name is the
column's, case aside, in a representation the dataset is.

Whole-mesh column questions (``pii_flow``: where the fields of PII columns flow) read these
instead of matching every PII column's name with the fields of its datasets at query time
(2.3 s of 2.8 at 10,000 products). Kept by the links follower
(:class:`~dpgraph.services.representation_links.RepresentationLinks`) in the update that
relinks, so that they follow the links: the matches of a registered product's columns are
dropped and made again, and a dataset newly linked or reporting new fields gets
its matches (the summary graph's fields only grow, so those are inserts). Each part is
idempotent, so re-applying a batch lands in the same state.
"""

from __future__ import annotations

from collections.abc import Sequence

from dpgraph import iris
from dpgraph import vocab as v
from dpgraph.services.lineage_summary import SUMMARY_GRAPH


def drop_for_columns(columns: Sequence[str]) -> str:
    """Delete the matches of these columns (looked up by column)."""
    links, realises = iris.LINEAGE_LINKS_GRAPH.value, v.FIELD_OF_ATTRIBUTE.value
    values = " ".join(f"<{c}>" for c in columns)
    return f"""
        DELETE {{ GRAPH <{links}> {{ ?f <{realises}> ?column }} }}
        WHERE {{ VALUES ?column {{ {values} }} GRAPH <{links}> {{ ?f <{realises}> ?column }} }}"""


def insert_matches(pairs: str) -> str:
    """Insert the matches of every (``?ds``, ``?rep``) link the pattern binds."""
    links = iris.LINEAGE_LINKS_GRAPH.value
    return f"""
        INSERT {{ GRAPH <{links}> {{ ?f <{v.FIELD_OF_ATTRIBUTE.value}> ?column }} }}
        WHERE {{ {pairs}
                 GRAPH ?pg {{ ?rep <{v.HAS_ATTRIBUTE.value}> ?column .
                             ?column <{v.COLUMN_NAME.value}> ?columnName }}
                 GRAPH <{SUMMARY_GRAPH.value}> {{
                     ?ds <{v.HAS_FIELD.value}> ?f . ?f <{v.FIELD_NAME.value}> ?name
                     FILTER NOT EXISTS {{ ?f <{v.SUBFIELD_OF.value}> ?parent }} }}
                 FILTER (LCASE(?name) = LCASE(?columnName)) }}"""

