"""Validation of incoming OpenLineage events (``POST /api/v1/lineage``).

Real producers deviate from the spec (see the corpus README): the receiver refuses only what it
cannot project and records every other deviation as a warning.

Refused (``InvalidEvent``, 422, all problems at once; each a ``Finding`` whose ``field`` is a JSON
pointer and whose ``rule`` is ``required``, ``type``, ``non-empty``, ``uuid``, ``date-time`` or
``event-kind``):

- not a JSON object, or none of ``run`` + ``job`` (RunEvent), ``job`` (JobEvent), ``dataset``
  (DatasetEvent); the structure decides the kind, the ``schemaURL`` fragment is only a hint;
- a missing or non-UUID ``run.runId``;
- a missing or empty ``namespace`` / ``name`` of the job, of the dataset of a DatasetEvent and of
  every input and output dataset (``inputs``/``outputs``, when present and not null, are arrays);
- a missing or unparseable ``eventTime``.

Accepted with a warning (``rule`` in brackets): no ``schemaURL`` [missing-schema-url]; a
``schemaURL`` naming no packaged spec version [unknown-spec-version] (both validated against the
newest packaged version); a kind the named version does not define [kind-not-in-spec-version];
a ``schemaURL`` fragment naming another kind [schema-url-kind-mismatch]; an ``eventTime``
without offset, read as UTC [date-time-without-offset]; a space instead of ``T`` in it
[date-time-not-rfc3339]; no ``producer`` [missing-producer]; a ``producer`` that is not a URI
[producer-not-uri]; an ``eventType`` the version does not know [event-type]; a facet without
``_producer`` / ``_schemaURL`` [facet-missing-producer, facet-missing-schema-url] or with a
malformed one [facet-base-field]; a facet failing its own schema [facet-schema: the warning's
field is the facet's pointer, which is also listed in ``ValidatedEvent.invalid_facets`` so that
the projection keeps that facet raw]; any other core-schema error [core-schema].

A facet is checked against the schema its ``_schemaURL`` names when that schema is packaged
(``spec/``; the fragment, e.g. ``#/$defs/SchemaDatasetFacet``, selects the definition; without a
fragment, the definition named like the file). Any other ``_schemaURL`` (custom facets) is not
checked and not reported. Facets flagged ``_deleted: true`` are not checked against their schema.

Formats: ``date-time`` and ``uuid`` are checked; ``uri`` is not (as in the corpus index): real
facets carry identifiers such as ``bigquery`` in uri fields. The event's ``producer`` is checked by
the receiver itself.

Schemas resolve from the packaged registry only: the registry's retriever raises and every
validator is built with ``offline=True``, so no code path fetches anything over the network.
Validators are compiled once per (document, definition) and cached; the library is
``jsonschema-rs`` (see ``bench/validators.py`` for the measurements behind that choice).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import jsonschema_rs

from dpgraph import jsontext
from dpgraph.errors import Finding, InvalidEvent, InvalidInput

SPEC_BASE = "https://openlineage.io/spec/"
KINDS = ("RunEvent", "DatasetEvent", "JobEvent")

_SCHEMA_URL = re.compile(
    r"^https?://openlineage\.io/spec/(?P<version>\d+-\d+-\d+)/OpenLineage\.json"
    r"(?:#(?P<fragment>.*))?$"
)
_KIND_FRAGMENT = re.compile(r"^/(?:\$defs|definitions)/(?P<kind>\w+)$")
_DEFINITION = re.compile(r"^/(?:\$defs|definitions)/[^/~]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S*$")  # scheme ":" rest, no blanks
_DATE_TIME = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})(?P<sep>[Tt ])(?P<h>\d{2}):(?P<mi>\d{2})"
    r":(?P<s>\d{2})(?:\.(?P<frac>\d+))?(?P<tz>[Zz]|[+-]\d{2}:\d{2})?$"
)
_VERSIONED = re.compile(re.escape(SPEC_BASE) + r"(?P<version>\d+-\d+-\d+)/OpenLineage\.json$")
_VERSIONED_FACET = re.compile(
    re.escape(SPEC_BASE) + r"facets/(?P<version>\d+-\d+-\d+)/(?P<name>\w+)\.json$"
)
_RELATIVE_FACET = re.compile(
    re.escape(SPEC_BASE) + r"(?P<core>\d+-\d+-\d+)/facets/(?P<name>\w+)\.json$"
)
_FACET_CONTAINERS = ("facets", "inputFacets", "outputFacets")
_BASE_FIELDS = ("_producer", "_schemaURL", "_deleted")
_MAX_FINDINGS = 100
_MAX_FACET_MESSAGES = 3


@dataclass(frozen=True)
class ValidatedEvent:
    event: dict  # the parsed event, unchanged (the raw event is what gets stored)
    kind: str  # "RunEvent" | "DatasetEvent" | "JobEvent"
    spec_version: str  # the spec version validated against, e.g. "2-0-2"
    warnings: list[Finding]
    invalid_facets: list[str]  # JSON pointers of facets failing their own schema (keep raw)


# --------------------------------------------------------------------------- body and time


def parse_event_body(body: bytes) -> object:
    """The JSON value of a request body; InvalidInput (400) naming line and column otherwise."""
    data = bytes(body)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (f"body is not UTF-8: byte 0x{data[exc.start]:02x} at line {line}, "
                   f"column {column} (byte offset {exc.start})")
        raise InvalidInput(message, errors=[Finding("violation", message, "", "utf-8")]) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return jsontext.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        message = f"body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise InvalidInput(message, errors=[Finding("violation", message, "", "json")]) from None
    except _NotJson as exc:
        message = f"body is not JSON: {exc}"
        raise InvalidInput(message, errors=[Finding("violation", message, "", "json")]) from None
    except RecursionError:
        message = "body is not acceptable JSON: it is nested too deeply"
        raise InvalidInput(message, errors=[Finding("violation", message, "", "json")]) from None


class _NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def _parse_time(value: str) -> tuple[datetime, bool, bool] | None:
    """(aware datetime, had an offset, used the RFC 3339 'T'), or None when unparseable."""
    m = _DATE_TIME.match(value)
    if m is None:
        return None
    frac = (m["frac"] or "")[:6].ljust(6, "0")
    second = int(m["s"])
    leap = second == 60  # RFC 3339 allows a leap second; datetime does not
    tz_text = m["tz"]
    if tz_text is None or tz_text in ("Z", "z"):
        tz = UTC
    else:
        hours, minutes = int(tz_text[1:3]), int(tz_text[4:6])
        if hours > 23 or minutes > 59:
            return None
        sign = -1 if tz_text[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        parsed = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]),
                          59 if leap else second, int(frac), tzinfo=tz)
    except ValueError:
        return None
    if leap:
        parsed += timedelta(seconds=1)
    return parsed, tz_text is not None, m["sep"] != " "


def parse_event_time(value: str) -> datetime:
    """``eventTime`` as an aware datetime, read the way the validator accepts it.

    RFC 3339 date-times, plus the deviations accepted with a warning: no offset (read as UTC)
    and a space instead of ``T``. Raises ValueError for anything else.
    """
    parsed = _parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    return parsed[0]


# --------------------------------------------------------------------------- schema registry


def _walk_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _walk_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_refs(value)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-"))


def load_spec_documents() -> dict[str, dict]:
    """The packaged schemas by URI (``$id``), plus in-memory aliases for relative facet refs.

    Core versions 1-0-4 … 2-0-1 reference ``facets/<Name>.json`` relative to their own URI, a
    path the site does not serve; each is aliased to the newest packaged versioned facet schema
    whose own core reference is not newer than the referring version (the oldest if none is).
    """
    docs: dict[str, dict] = {}

    def walk(node: Any, rel: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{rel}{child.name}/")
            elif child.name.endswith(".json"):
                uri = SPEC_BASE + rel + child.name
                doc = json.loads(child.read_text(encoding="utf-8"))
                if doc.get("$id") != uri:
                    raise RuntimeError(f"packaged schema {rel}{child.name} has $id "
                                       f"{doc.get('$id')!r}, expected {uri}")
                docs[uri] = doc

    walk(resources.files(__package__).joinpath("spec"), "")

    facet_versions: dict[str, list[tuple[tuple[int, ...], tuple[int, ...], str]]] = {}
    for uri, doc in docs.items():
        m = _VERSIONED_FACET.match(uri)
        if m is None:
            continue
        cores = [_version_key(c) for ref in _walk_refs(doc)
                 for c in re.findall(r"/spec/(\d+-\d+-\d+)/OpenLineage\.json", ref)]
        core = max(cores, default=(0,))
        facet_versions.setdefault(m["name"], []).append((_version_key(m["version"]), core, uri))

    aliases: dict[str, dict] = {}
    for uri, doc in docs.items():
        m = _VERSIONED.match(uri)
        if m is None:
            continue
        core = _version_key(m["version"])
        for ref in _walk_refs(doc):
            if ref.startswith(("#", "http:", "https:")):
                continue
            target = uri.rsplit("/", 1)[0] + "/" + ref.split("#", 1)[0]
            if target in docs or target in aliases:
                continue
            rel = _RELATIVE_FACET.match(target)
            candidates = sorted(facet_versions.get(rel["name"], [])) if rel else []
            if not candidates:
                raise RuntimeError(f"{uri} references {ref}, which no packaged schema provides")
            fitting = [c for c in candidates if c[1] <= core]
            chosen = (fitting[-1] if fitting else candidates[0])[2]
            aliases[target] = {**docs[chosen], "$id": target}
    docs.update(aliases)
    return docs


def _accept(value: str) -> bool:
    return True


# date-time and uuid are checked as the spec says; "uri" is not (as in the corpus index): real
# facets carry identifiers such as "bigquery" in uri fields, and projection does not need them
# to be URIs. The event's producer is checked by the receiver itself (producer-not-uri).
_FORMATS = {"uri": _accept}


def facet_schema_target(docs: dict[str, dict], url: str) -> str | None:
    """The packaged definition (``<uri>#<pointer>``) a facet ``_schemaURL`` names, or None.

    The fragment selects a definition (``#/$defs/<Name>`` or ``#/definitions/<Name>``; any other
    fragment names nothing checkable); without one, the definition named like the file
    (``…/SchemaDatasetFacet.json`` → ``#/$defs/SchemaDatasetFacet``). Producers mix
    ``#/definitions/`` (1.x cores) and ``#/$defs/`` (2.x), so the other spelling is tried too.
    """
    base, _, fragment = url.partition("#")
    doc = docs.get(base)
    if doc is None:
        return None
    if not fragment:
        stem = base.rsplit("/", 1)[1].removesuffix(".json")
        fragment = f"/$defs/{stem}" if stem in doc.get("$defs", {}) else ""
    if not _DEFINITION.match(fragment):  # a definition, not any sub-schema: keeps the cache small
        return None
    if not _has_pointer(doc, fragment):
        swapped = (fragment.replace("/definitions/", "/$defs/", 1)
                   if fragment.startswith("/definitions/")
                   else fragment.replace("/$defs/", "/definitions/", 1))
        if not _has_pointer(doc, swapped):
            return None
        fragment = swapped
    return f"{base}#{fragment}"


def _no_network(uri: str) -> Any:
    raise LookupError(f"{uri} is not among dpgraph's packaged OpenLineage schemas; "
                      "schemas are never fetched over the network")


def _has_pointer(doc: Any, pointer: str) -> bool:
    node = doc
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict)


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _flatten(errors: Iterable[jsonschema_rs.ValidationError]
             ) -> Iterator[jsonschema_rs.ValidationError]:
    """Errors, looking through a failed single-branch anyOf/oneOf (the spec's facet maps)."""
    for error in errors:
        context = getattr(error.kind, "context", None)
        if error.kind.name in ("anyOf", "oneOf") and context and len(context) == 1 \
                and context[0]:
            yield from _flatten(context[0])
        else:
            yield error


def _is_valid(validator: jsonschema_rs.Validator, instance: Any) -> bool:
    try:
        return validator.is_valid(instance)
    except (ValueError, RecursionError):  # e.g. "Recursion limit reached" on deep nesting
        return False


def _errors(validator: jsonschema_rs.Validator, instance: Any
            ) -> list[jsonschema_rs.ValidationError] | str:
    """The (flattened) errors, or why they cannot be listed (jsonschema-rs gives up on very
    deeply nested instances)."""
    try:
        return list(_flatten(validator.iter_errors(instance)))
    except (ValueError, RecursionError) as exc:
        return str(exc) or type(exc).__name__


def _facet_prefix(path: list[str | int]) -> int:
    """Length of the facet part of an instance path (run/facets/x → 3), 0 if not in a facet."""
    if len(path) >= 3 and path[0] in ("run", "job", "dataset") and path[1] == "facets":
        return 3
    if (len(path) >= 4 and path[0] in ("inputs", "outputs") and isinstance(path[1], int)
            and path[2] in _FACET_CONTAINERS):
        return 4
    return 0


def iter_facets(event: dict) -> Iterator[tuple[list[str | int], Any]]:
    """(instance path, facet) of every facet of the run, job, dataset, inputs and outputs."""

    def container(prefix: list[str | int], facets: Any) -> Iterator[tuple[list[str | int], Any]]:
        if isinstance(facets, dict):
            for name, facet in facets.items():
                yield [*prefix, name], facet

    for key in ("run", "job", "dataset"):
        owner = event.get(key)
        if isinstance(owner, dict):
            yield from container([key, "facets"], owner.get("facets"))
    for key in ("inputs", "outputs"):
        datasets = event.get(key)
        if isinstance(datasets, list):
            for i, dataset in enumerate(datasets):
                if isinstance(dataset, dict):
                    for name in _FACET_CONTAINERS:
                        yield from container([key, i, name], dataset.get(name))


# --------------------------------------------------------------------------- the validator


class _Report:
    """Warnings of one event, in order, with per-facet aggregation of schema failures."""

    def __init__(self) -> None:
        self.warnings: list[Finding] = []
        self.seen: set[tuple[str, str]] = set()
        self.facet_errors: dict[str, dict[str, None]] = {}  # facet → messages (ordered set)
        self.facet_sources: dict[str, dict[str, None]] = {}
        self.dropped = 0

    def warn(self, field: str, rule: str, message: str, value: str | None = None) -> None:
        if (field, rule) in self.seen:
            return
        if len(self.warnings) >= _MAX_FINDINGS:
            self.dropped += 1
            return
        self.seen.add((field, rule))
        self.warnings.append(Finding("warning", message, field, rule, value=value))

    def facet_error(self, facet: str, message: str, source: str) -> None:
        if facet not in self.facet_errors:
            self.facet_errors[facet] = {}
            self.facet_sources[facet] = {}
            self.warn(facet, "facet-schema", "")  # placeholder, message filled in finish()
        self.facet_errors[facet][message] = None
        self.facet_sources[facet][source] = None

    def finish(self) -> tuple[list[Finding], list[str]]:
        out = []
        for w in self.warnings:
            if w.rule == "facet-schema" and w.field in self.facet_errors:
                msgs = list(self.facet_errors[w.field])
                sources = " and ".join(self.facet_sources[w.field])
                more = f" (+{len(msgs) - _MAX_FACET_MESSAGES} more)" \
                    if len(msgs) > _MAX_FACET_MESSAGES else ""
                text = "; ".join(msgs[:_MAX_FACET_MESSAGES]) + more
                w = Finding("warning", f"facet does not conform to {sources}"
                            f" and is kept raw: {text}", w.field, w.rule)
            out.append(w)
        if self.dropped:
            out.append(Finding("warning", f"{self.dropped} more warning(s) not listed", "",
                               "warnings-truncated"))
        return out, list(self.facet_errors)


class EventValidator:
    """Validates OpenLineage events against the packaged spec; safe to share between threads."""

    def __init__(self) -> None:
        self._docs = load_spec_documents()
        self._registry = jsonschema_rs.Registry(list(self._docs.items()), retriever=_no_network)
        self.versions: list[str] = sorted(
            (m["version"] for uri in self._docs if (m := _VERSIONED.match(uri))),
            key=_version_key)
        self.newest = self.versions[-1]
        self._core: dict[tuple[str, str], jsonschema_rs.Validator] = {}
        for version in self.versions:
            doc = self._docs[f"{SPEC_BASE}{version}/OpenLineage.json"]
            for kind in KINDS:
                for defs in ("$defs", "definitions"):
                    if kind in doc.get(defs, {}):
                        self._core[(version, kind)] = self._compile(
                            f"{SPEC_BASE}{version}/OpenLineage.json#/{defs}/{kind}")
                        break
        self._facets: dict[str, tuple[jsonschema_rs.Validator, str]] = {}

    def _compile(self, uri: str) -> jsonschema_rs.Validator:
        return jsonschema_rs.validator_for({"$ref": uri}, registry=self._registry,
                                           validate_formats=True, formats=_FORMATS,
                                           offline=True)

    def _facet_validator(self, url: str) -> tuple[jsonschema_rs.Validator, str] | None:
        """The compiled validator a facet's ``_schemaURL`` names, None if not packaged."""
        hit = self._facets.get(url)
        if hit is not None:
            return hit
        target = facet_schema_target(self._docs, url)
        if target is None:
            return None
        try:
            compiled = (self._compile(target), target)
        except ValueError:  # jsonschema_rs.ValidationError: unusable definition
            return None
        self._facets[url] = compiled  # bounded: only URLs that name a packaged definition
        return compiled

    # ----------------------------------------------------------------------- validate

    def validate(self, event: object) -> ValidatedEvent:
        if not isinstance(event, dict):
            raise InvalidEvent(
                "an OpenLineage event is a JSON object",
                errors=[Finding("violation", "an OpenLineage event is a JSON object, not "
                                f"{_json_type(event)}", "", "type")])
        kind, fatal = self._check_projectable(event)
        if fatal:
            shown = fatal[:_MAX_FINDINGS]
            if len(fatal) > _MAX_FINDINGS:
                shown.append(Finding("violation", f"{len(fatal) - _MAX_FINDINGS} more "
                                     "problem(s) not listed", "", "errors-truncated"))
            summary = ", ".join(f"{f.field or '/'} ({f.rule})" for f in shown[:5])
            more = f" and {len(fatal) - 5} more" if len(fatal) > 5 else ""
            raise InvalidEvent(f"the event cannot be projected: {summary}{more}", errors=shown)
        assert kind is not None

        report = _Report()
        version = self._spec_version(event, kind, report)
        time = _parse_time(event["eventTime"])
        assert time is not None
        if not time[1]:
            report.warn("/eventTime", "date-time-without-offset",
                        "eventTime has no UTC offset (RFC 3339 requires one); read as UTC",
                        event["eventTime"])
        if not time[2]:
            report.warn("/eventTime", "date-time-not-rfc3339",
                        "eventTime separates date and time with a space; RFC 3339 uses 'T'",
                        event["eventTime"])

        producer = event.get("producer")
        if producer is None:
            report.warn("/producer", "missing-producer", "the event has no producer")
        elif not isinstance(producer, str) or not _URI.match(producer):
            report.warn("/producer", "producer-not-uri",
                        f"producer {producer!r:.120} is not a URI", str(producer)[:200])

        core = self._core[(version, kind)]
        if not _is_valid(core, event):
            source = f"{SPEC_BASE}{version}/OpenLineage.json ({kind})"
            errors = _errors(core, event)
            if isinstance(errors, str):
                report.warn("", "core-schema", f"the event does not conform to {source}; "
                            f"details unavailable: {errors}")
            else:
                for error in errors:
                    self._classify(list(error.instance_path), error, report, source, core=True)
        for path, facet in iter_facets(event):
            if not isinstance(facet, dict) or facet.get("_deleted") is True:
                continue
            url = facet.get("_schemaURL")
            found = self._facet_validator(url) if isinstance(url, str) else None
            if found is None or _is_valid(found[0], facet):
                continue
            errors = _errors(found[0], facet)
            if isinstance(errors, str):
                report.facet_error(_pointer(path), f"details unavailable: {errors}", found[1])
                continue
            for error in errors:
                self._classify([*path, *error.instance_path], error, report, found[1],
                               core=False)
        warnings, invalid = report.finish()
        return ValidatedEvent(event=event, kind=kind, spec_version=version, warnings=warnings,
                              invalid_facets=invalid)

    def _check_projectable(self, event: dict) -> tuple[str | None, list[Finding]]:
        fatal: list[Finding] = []

        def refuse(field: str, rule: str, message: str) -> None:
            fatal.append(Finding("violation", message, field, rule))

        def identity(owner: Any, pointer: str, what: str) -> None:
            if not isinstance(owner, dict):
                refuse(pointer, "type", f"{what} must be an object, not {_json_type(owner)}")
                return
            for key in ("namespace", "name"):
                value = owner.get(key)
                if key not in owner:
                    refuse(f"{pointer}/{key}", "required", f"{what} has no {key}")
                elif not isinstance(value, str):
                    refuse(f"{pointer}/{key}", "type",
                           f"{what} {key} must be a string, not {_json_type(value)}")
                elif not value.strip():
                    refuse(f"{pointer}/{key}", "non-empty", f"{what} {key} is empty")

        def datasets(key: str) -> None:
            items = event.get(key)
            if items is None:  # absent, or null: no datasets (null is a core-schema warning)
                return
            if not isinstance(items, list):
                refuse(f"/{key}", "type", f"{key} must be an array, not {_json_type(items)}")
                return
            for i, dataset in enumerate(items):
                identity(dataset, f"/{key}/{i}", f"{key[:-1]} dataset {i}")

        if "run" in event:
            kind: str | None = "RunEvent"
            run = event["run"]
            if not isinstance(run, dict):
                refuse("/run", "type", f"run must be an object, not {_json_type(run)}")
            elif "runId" not in run:
                refuse("/run/runId", "required", "run has no runId")
            elif not isinstance(run["runId"], str):
                refuse("/run/runId", "type",
                       f"run.runId must be a string, not {_json_type(run['runId'])}")
            elif not _UUID.match(run["runId"]):
                refuse("/run/runId", "uuid", f"run.runId {run['runId']!r:.80} is not a UUID")
            if "job" in event:
                identity(event["job"], "/job", "job")
            else:
                refuse("/job", "required", "a RunEvent (it has a run) needs a job")
        elif "job" in event:
            kind = "JobEvent"
            identity(event["job"], "/job", "job")
        elif "dataset" in event:
            kind = "DatasetEvent"
            identity(event["dataset"], "/dataset", "dataset")
        else:
            kind = None
            refuse("", "event-kind", "not an OpenLineage event: it has neither run and job "
                   "(RunEvent), job (JobEvent) nor dataset (DatasetEvent)")
        if kind in ("RunEvent", "JobEvent"):
            datasets("inputs")
            datasets("outputs")

        if "eventTime" not in event:
            refuse("/eventTime", "required", "the event has no eventTime")
        elif not isinstance(event["eventTime"], str):
            refuse("/eventTime", "type",
                   f"eventTime must be a string, not {_json_type(event['eventTime'])}")
        elif _parse_time(event["eventTime"]) is None:
            refuse("/eventTime", "date-time",
                   f"eventTime {event['eventTime']!r:.80} is not an RFC 3339 date-time")
        return kind, fatal

    def _spec_version(self, event: dict, kind: str, report: _Report) -> str:
        url = event.get("schemaURL")
        version = self.newest
        if url is None:
            report.warn("/schemaURL", "missing-schema-url",
                        f"the event has no schemaURL; validated against {self.newest}")
            return version
        m = _SCHEMA_URL.match(url) if isinstance(url, str) else None
        if m is None or f"{SPEC_BASE}{m['version']}/OpenLineage.json" not in self._docs:
            report.warn("/schemaURL", "unknown-spec-version",
                        f"schemaURL {url!r:.120} names no known OpenLineage spec version "
                        f"(known: {self.versions[0]} … {self.newest}); validated against "
                        f"{self.newest}", str(url)[:200])
            return version
        declared = _KIND_FRAGMENT.match(m["fragment"] or "")
        if declared and declared["kind"] in KINDS and declared["kind"] != kind:
            report.warn("/schemaURL", "schema-url-kind-mismatch",
                        f"schemaURL names {declared['kind']} but the event is a {kind} "
                        "(decided by its structure)")
        if (m["version"], kind) not in self._core:
            report.warn("/schemaURL", "kind-not-in-spec-version",
                        f"spec {m['version']} defines no {kind}; validated against "
                        f"{self.newest}")
            return version
        return m["version"]

    def _classify(self, path: list[str | int], error: jsonschema_rs.ValidationError,
                  report: _Report, source: str, *, core: bool) -> None:
        keyword = error.kind.name
        missing = error.kind.property if keyword == "required" else None
        pointer = _pointer([*path, missing] if missing is not None else path)

        n = _facet_prefix(path)
        if n:
            facet = _pointer(path[:n])
            rel = path[n:]
            if missing in ("_producer", "_schemaURL") and not rel:
                rule = "facet-missing-producer" if missing == "_producer" \
                    else "facet-missing-schema-url"
                report.warn(pointer, rule, f"facet has no {missing}")
            elif len(rel) == 1 and rel[0] in _BASE_FIELDS and missing is None:
                report.warn(pointer, "facet-base-field", f"{rel[0]}: {error.message}")
            else:
                where = _pointer(rel) if rel else "(facet)"
                report.facet_error(facet, f"{where}: {error.message}", source)
            return
        if not core:  # an error of a facet schema outside the facet itself cannot occur
            return
        if pointer in _OWN_RULE_POINTERS or _DATASET_IDENTITY.match(pointer):
            return  # checked (or reported) by the receiver's own rules
        if pointer == "/eventType":
            report.warn(pointer, "event-type", f"eventType: {error.message} ({source})")
        else:
            report.warn(pointer, "core-schema", f"{error.message} ({source})")


_OWN_RULE_POINTERS = frozenset({  # core-schema errors here are the receiver's own rules' business
    "/run", "/run/runId", "/job", "/job/namespace", "/job/name", "/dataset",
    "/dataset/namespace", "/dataset/name", "/schemaURL", "/eventTime", "/producer",
})
_DATASET_IDENTITY = re.compile(r"^/(?:inputs|outputs)/\d+(?:/namespace|/name)?$")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
