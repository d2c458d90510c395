"""Pure functions from facts to evidence for join-key candidates (confidence scale: model.py).

Facts come from the log: glossary identifier roles (catalog), elements and physical
attributes (registrations), the ``sql`` job facet and ``columnLineage`` dataset facets of
lineage events. Nothing here reads a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dpgraph.joins.model import (
    CARRIED_IDENTITY,
    CARRIED_OTHER,
    SQL_JOIN,
    TERM_CONFIDENCE,
    Evidence,
)

MAX_RUNS_SHOWN = 10


def term_evidence(term: str, role: str | None) -> Evidence | None:
    """Two elements of different products linked to one identifier term."""
    if role not in TERM_CONFIDENCE:
        return None
    return Evidence("shared-term", TERM_CONFIDENCE[role],
                    (("term", term), ("identifierRole", role)))


def kind_for(role: str | None) -> str:
    return "master-identifier" if role == "master-identifier" else "foreign-key"


def _runs(runs: Sequence[str], count: int) -> tuple[tuple[str, Any], ...]:
    return (("runs", list(runs[-MAX_RUNS_SHOWN:])), ("runCount", count))


def sql_evidence(job: tuple[str, str], query: str, condition: str,
                 tables: tuple[str, str], runs: Sequence[str], run_count: int) -> Evidence:
    """An ingested job's SQL joins the two columns (one piece of evidence per job)."""
    return Evidence("sql-join", SQL_JOIN, (
        ("job", {"namespace": job[0], "name": job[1]}),
        ("condition", condition), ("tables", list(tables)), ("sql", query),
        *_runs(runs, run_count)))


def carried_evidence(job: tuple[str, str], output: tuple[str, str], source: tuple[str, str],
                     transformation: str | None, runs: Sequence[str],
                     run_count: int) -> Evidence:
    """Column lineage: ``output`` (dataset, field) is derived from ``source`` by ``job``."""
    identity = transformation is None or "IDENTITY" in transformation.upper()
    return Evidence("column-lineage", CARRIED_IDENTITY if identity else CARRIED_OTHER, (
        ("job", {"namespace": job[0], "name": job[1]}),
        ("output", {"dataset": output[0], "field": output[1]}),
        ("input", {"dataset": source[0], "field": source[1]}),
        ("transformation", transformation or "IDENTITY"), *_runs(runs, run_count)))


def transformation_of(input_field: dict[str, Any], field_entry: dict[str, Any]) -> str | None:
    """``TYPE/SUBTYPE`` of a columnLineage input field (spec 1-2: per-input transformations;
    1-0/1-1: one transformationType on the output field); None when not reported."""
    transformations = input_field.get("transformations")
    if isinstance(transformations, list):
        for t in transformations:
            if isinstance(t, dict) and t.get("type") == "DIRECT":
                sub = t.get("subtype")
                return f"DIRECT/{sub}" if isinstance(sub, str) else "DIRECT"
        if transformations:
            return "INDIRECT"
    legacy = field_entry.get("transformationType")
    return legacy if isinstance(legacy, str) and legacy else None


def is_carried(transformation: str | None) -> bool:
    """A key is carried by a direct derivation; an indirect one (filter, join, group) is not."""
    return transformation is None or not transformation.upper().startswith("INDIRECT")
