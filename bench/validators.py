"""Validator benchmark: OpenLineage events/s of JSON Schema libraries on the corpus's valid/ events.

For each library, the same work the receiver does per event, on the same packaged schemas
(``dpgraph/lineage/spec``, resolved locally only; a lookup outside them raises):

- the event against the core schema: ``https://openlineage.io/spec/2-0-2/OpenLineage.json``,
  Draft 2020-12, formats ``date-time`` and ``uuid`` checked, ``uri`` not (as the corpus index);
- every facet whose ``_schemaURL`` names a packaged definition, against that definition.

Each library's verdicts (core valid? facets ok / invalid / unvalidated) are first compared with
the corpus ``index.json`` on every valid/ and invalid/ event: a library is only a candidate if it
agrees everywhere. Then events/s of a fast-path ``is_valid`` pass, one thread, schemas compiled
once. Last, the receiver's own pipeline (``EventValidator.validate``, which also builds the
warnings, with and without ``parse_event_body``).

Not a test: run it by hand (``python bench/validators.py [--rounds N]``). Libraries that are not
installed are reported as such (``pip install jsonschema-rs fastjsonschema``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dpgraph.lineage.validation import (
    EventValidator,
    facet_schema_target,
    iter_facets,
    load_spec_documents,
    parse_event_body,
)

CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

Check = Callable[[Any], bool]
Compiler = Callable[[str], Check]


def corpus_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared"
    return Path(os.environ.get("DPGRAPH_SHARED_DIR", default)) / "corpus" / "openlineage"


def is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(UUID.match(value))


def is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(RFC3339.match(value))


def refuse(uri: str) -> Any:
    raise LookupError(f"{uri} is not packaged; no network")


# --------------------------------------------------------------------------- the libraries


def with_jsonschema(docs: dict[str, dict]) -> tuple[str, Compiler]:
    import jsonschema
    import referencing
    from referencing.jsonschema import DRAFT202012

    registry = referencing.Registry(retrieve=refuse).with_resources(
        (uri, DRAFT202012.create_resource(doc)) for uri, doc in docs.items())
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uuid")(is_uuid)
    checker.checks("date-time")(is_date_time)

    def compile_(target: str) -> Check:
        return jsonschema.Draft202012Validator({"$ref": target}, registry=registry,
                                               format_checker=checker).is_valid

    return f"jsonschema {importlib.metadata.version('jsonschema')}", compile_


def with_jsonschema_rs(docs: dict[str, dict]) -> tuple[str, Compiler]:
    import jsonschema_rs

    registry = jsonschema_rs.Registry(list(docs.items()), retriever=refuse)

    def compile_(target: str) -> Check:
        return jsonschema_rs.validator_for({"$ref": target}, registry=registry,
                                           validate_formats=True, offline=True,
                                           formats={"uri": lambda _: True}).is_valid

    return f"jsonschema-rs {importlib.metadata.version('jsonschema-rs')}", compile_


def with_fastjsonschema(docs: dict[str, dict]) -> tuple[str, Compiler]:
    import fastjsonschema

    def handler(uri: str) -> dict:
        doc = docs.get(uri.split("#", 1)[0])
        if doc is None:
            refuse(uri)
        return doc

    formats = {"uuid": is_uuid, "date-time": is_date_time, "uri": lambda _: True}

    def compile_(target: str) -> Check:
        function = fastjsonschema.compile({"$ref": target},
                                          handlers={"https": handler, "http": handler},
                                          formats=formats)

        def is_valid(instance: Any) -> bool:
            try:
                function(instance)
            except fastjsonschema.JsonSchemaValueException:
                return False
            return True

        return is_valid

    return f"fastjsonschema {importlib.metadata.version('fastjsonschema')}", compile_


LIBRARIES = {"jsonschema": with_jsonschema, "jsonschema-rs": with_jsonschema_rs,
             "fastjsonschema": with_fastjsonschema}


# --------------------------------------------------------------------------- measuring


def load(folder: str) -> list[tuple[str, bytes, dict]]:
    root = corpus_dir()
    out = []
    for path in sorted((root / folder).rglob("*.json")):
        raw = path.read_bytes()
        out.append((path.relative_to(root).as_posix(), raw, json.loads(raw)))
    return out


def plan(docs: dict[str, dict], event: dict) -> tuple[list[tuple[str, dict]], int]:
    """(facets with a packaged schema, count of the others)."""
    checked, unvalidated = [], 0
    for _, facet in iter_facets(event):
        url = facet.get("_schemaURL") if isinstance(facet, dict) else None
        target = facet_schema_target(docs, url) if isinstance(url, str) else None
        if target is None:
            unvalidated += 1
        else:
            checked.append((target, facet))
    return checked, unvalidated


def measure(name: str, factory: Callable, docs: dict[str, dict], index: dict[str, dict],
            judged: list[tuple[str, bytes, dict]], timed: list[tuple[str, bytes, dict]],
            rounds: int) -> None:
    try:
        label, compile_ = factory(docs)
    except ImportError:
        print(f"{name:<28} not installed")
        return
    cache: dict[str, Check] = {}

    def check(target: str) -> Check:
        if target not in cache:
            cache[target] = compile_(target)
        return cache[target]

    try:
        started = time.perf_counter()
        core = check(CORE)
        compile_s = time.perf_counter() - started
        mismatches = []
        for rel, _, event in judged:
            facets, unvalidated = plan(docs, event)
            ok = sum(check(t)(f) for t, f in facets)
            got = (core(event), ok, len(facets) - ok, unvalidated)
            v = index[rel]["validation"]
            want = (v["core_2_0_2"] == "ok", v["facets_ok"], v["facets_invalid"],
                    v["facets_unvalidated"])
            if got != want:
                mismatches.append(f"{rel}: index {want}, got {got}")
    except Exception as exc:  # a library that cannot handle the spec is a result, not a crash
        print(f"{label:<28} cannot validate the spec: {type(exc).__name__}: {exc}"[:300])
        return

    work = [(event, [(check(t), f) for t, f in plan(docs, event)[0]]) for _, _, event in timed]
    started = time.perf_counter()
    for _ in range(rounds):
        for event, facets in work:
            core(event)
            for is_valid, facet in facets:
                is_valid(facet)
    rate = len(work) * rounds / (time.perf_counter() - started)
    verdict = "agrees with index.json" if not mismatches else \
        f"{len(mismatches)} DISAGREEMENT(S) with index.json"
    print(f"{label:<28} {rate:>10,.0f} events/s   core compile {compile_s * 1000:6.1f} ms   "
          f"{verdict}")
    for line in mismatches[:5]:
        print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over valid/ (20)")
    args = parser.parse_args()

    index = {e["file"]: e for e in json.loads((corpus_dir() / "index.json").read_text())}
    valid = load("valid")
    judged = valid + load("invalid")
    docs = load_spec_documents()
    print(f"{len(valid)} valid/ events ({sum(len(r) for _, r, _ in valid) / len(valid):,.0f} "
          f"bytes on average, {sum(len(list(iter_facets(e))) for _, _, e in valid)} facets), "
          f"{args.rounds} rounds, one thread; verdicts checked on {len(judged)} events\n")
    for name, factory in LIBRARIES.items():
        measure(name, factory, docs, index, judged, valid, args.rounds)

    validator = EventValidator()
    for label, run in (
        ("EventValidator.validate", lambda: [validator.validate(e) for _, _, e in valid]),
        ("parse_event_body+validate",
         lambda: [validator.validate(parse_event_body(r)) for _, r, _ in valid]),
    ):
        run()
        started = time.perf_counter()
        for _ in range(args.rounds):
            run()
        rate = len(valid) * args.rounds / (time.perf_counter() - started)
        print(f"{label:<28} {rate:>10,.0f} events/s   (receiver pipeline, with warnings)")


if __name__ == "__main__":
    main()
