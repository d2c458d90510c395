"""OpenLineage event validation (dpgraph.lineage.validation) against real producers' events.

The corpus (``shared/corpus/openlineage``, found through ``DPGRAPH_SHARED_DIR``) holds events
captured from Spark, dbt, Airflow, Marquez fixtures and the spec's examples. Its README explains
how real producers deviate; ``index.json`` records each event's JSON-Schema validation result.

``tests/expected_outcomes.json`` is the reviewed outcome of every corpus event (status; sorted
warning rule ids; sorted ``"<JSON pointer> <rule>"`` of each refusal reason, where the empty
pointer is the whole event). It was generated once with the validator, then checked by hand.
"""

from __future__ import annotations

import copy
import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dpgraph.errors import InvalidInput
from dpgraph.lineage.validation import (
    EventValidator,
    InvalidEvent,
    ValidatedEvent,
    parse_event_body,
    parse_event_time,
)


def shared_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared"
    return Path(os.environ.get("DPGRAPH_SHARED_DIR", default))


CORPUS = shared_dir() / "corpus" / "openlineage"
EXPECTED = Path(__file__).with_name("expected_outcomes.json")
FOLDERS = ("valid", "partial", "invalid")
BASE_EVENT = "valid/dbt/ct-producer-dbt-test_output__csv_to_postgres_local__event_009.json"

# Warning rules that stand for an error of the core schema (the corpus index validates the core
# schema 2-0-2 with date-time and uuid formats): an event the index marks core-valid has none.
CORE_RULES = {
    "missing-schema-url", "missing-producer", "producer-not-uri", "date-time-without-offset",
    "date-time-not-rfc3339", "event-type", "core-schema", "facet-missing-producer",
    "facet-missing-schema-url", "facet-base-field",
}
# The corpus index's core-schema error messages and the warning rule that must explain each.
INDEX_ERROR_RULES = [
    ("'schemaURL' is a required property", "missing-schema-url"),
    ("'_producer' is a required property", "facet-missing-producer"),
    ("'_schemaURL' is a required property", "facet-missing-schema-url"),
    ("is not a 'date-time'", "date-time-without-offset"),
]


@pytest.fixture(scope="module")
def validator() -> EventValidator:
    return EventValidator()


def corpus_files(folder: str) -> list[Path]:
    files = sorted((CORPUS / folder).rglob("*.json"))
    assert files, f"no corpus events under {CORPUS / folder}"
    return files


def rel(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


def outcome(validator: EventValidator, path: Path) -> dict:
    try:
        result = validator.validate(parse_event_body(path.read_bytes()))
    except InvalidEvent as exc:
        return {"file": rel(path), "status": 422, "warnings": [],
                "fatal": sorted(f"{f.field} {f.rule}" for f in exc.errors)}
    except InvalidInput as exc:
        return {"file": rel(path), "status": 400, "warnings": [],
                "fatal": sorted(f"{f.field} {f.rule}" for f in exc.errors)}
    return {"file": rel(path), "status": 202, "warnings": sorted(w.rule for w in result.warnings),
            "fatal": []}


def base_event() -> dict:
    return json.loads((CORPUS / BASE_EVENT).read_text(encoding="utf-8"))


def refusal(validator: EventValidator, event: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidEvent) as caught:
        validator.validate(event)
    assert caught.value.status == 422
    assert all(f.severity == "violation" for f in caught.value.errors)
    return [(f.field, f.rule) for f in caught.value.errors]


def rules(result: ValidatedEvent) -> list[str]:
    return [w.rule for w in result.warnings]


# --------------------------------------------------------------------------- the whole corpus


def test_every_valid_event_is_accepted(validator: EventValidator) -> None:
    refused = {}
    for path in corpus_files("valid"):
        try:
            validator.validate(parse_event_body(path.read_bytes()))
        except (InvalidEvent, InvalidInput) as exc:
            refused[rel(path)] = [(f.field, f.rule) for f in exc.errors]
    assert refused == {}


def test_partial_and_invalid_events_are_accepted_or_refused_never_crash(
        validator: EventValidator) -> None:
    seen = {"accepted": 0, "refused": 0}
    for folder in ("partial", "invalid"):
        for path in corpus_files(folder):
            try:
                result = validator.validate(parse_event_body(path.read_bytes()))
            except (InvalidEvent, InvalidInput) as exc:
                assert exc.errors, rel(path)
                seen["refused"] += 1
            else:
                assert result.kind in ("RunEvent", "DatasetEvent", "JobEvent")
                seen["accepted"] += 1
    assert seen["refused"] and seen["accepted"]


def test_expected_outcome_of_every_corpus_event(validator: EventValidator) -> None:
    expected = {o["file"]: o for o in json.loads(EXPECTED.read_text(encoding="utf-8"))}
    files = [p for folder in FOLDERS for p in corpus_files(folder)]
    assert sorted(expected) == sorted(rel(p) for p in files), \
        "corpus and expected_outcomes.json list different files"
    differ = {}
    for path in files:
        got = outcome(validator, path)
        if got != expected[rel(path)]:
            differ[rel(path)] = {"expected": expected[rel(path)], "got": got}
    assert differ == {}


def test_expected_outcomes_follow_the_corpus_classification() -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    by_folder: dict[str, list[dict]] = {}
    for o in expected:
        by_folder.setdefault(o["file"].split("/")[0], []).append(o)
    assert {o["status"] for o in by_folder["valid"]} == {202}
    # the fluentd negative test without runId is the one invalid/ event that cannot be projected
    assert [o["fatal"] for o in by_folder["invalid"] if o["status"] != 202] == [
        ["/run/runId required"]]
    # the facet negative tests are accepted, their bad facets reported
    assert sum("facet-schema" in o["warnings"] for o in by_folder["invalid"]) == 3
    # templates: placeholders and missing identities are refused, complete ones accepted
    partial = by_folder["partial"]
    assert sum(o["status"] == 422 for o in partial) > 0.9 * len(partial)
    assert all(o["status"] == 202 or o["fatal"] for o in partial)


def test_warnings_on_valid_events_agree_with_the_corpus_index(
        validator: EventValidator) -> None:
    index = {e["file"]: e for e in json.loads((CORPUS / "index.json").read_text())}
    problems = []
    for path in corpus_files("valid"):
        result = validator.validate(parse_event_body(path.read_bytes()))
        got = set(rules(result))
        checked = index[rel(path)]["validation"]
        for message in checked["core_errors"]:
            wanted = [rule for text, rule in INDEX_ERROR_RULES if text in message]
            if not wanted:
                problems.append(f"{rel(path)}: no rule known for index error {message!r}")
            elif wanted[0] not in got:
                problems.append(f"{rel(path)}: index says {message!r}, warnings {sorted(got)}")
        if checked["core_2_0_2"] != "ok" and not got & CORE_RULES:
            problems.append(f"{rel(path)}: core-invalid in the index, no core warning")
        flagged = "facet-schema" in got and \
            len(result.invalid_facets) == checked["facets_invalid"]
        if checked["facets_invalid"] and not flagged:
            problems.append(f"{rel(path)}: {checked['facets_invalid']} invalid facet(s) in "
                            f"the index, got {result.invalid_facets}")
        fully_ok = checked["core_2_0_2"] == "ok" and not checked["facets_invalid"]
        if fully_ok and (got & (CORE_RULES | {"facet-schema"}) or result.invalid_facets):
            problems.append(f"{rel(path)}: valid in the index, warnings {sorted(got)}")
    assert problems == []


def test_the_index_deviations_come_out_as_named_warnings(validator: EventValidator) -> None:
    def result(name: str) -> ValidatedEvent:
        return validator.validate(parse_event_body((CORPUS / name).read_bytes()))

    naive = result("valid/marquez/marquez-api-open_lineage__event_required_no_timezone.json")
    assert [(w.field, w.rule) for w in naive.warnings] == [
        ("/eventTime", "date-time-without-offset")]
    no_url = result("valid/marquez/marquez-api-open_lineage__event_without_schema_url.json")
    assert [(w.field, w.rule) for w in no_url.warnings] == [("/schemaURL", "missing-schema-url")]
    assert no_url.spec_version == "2-0-2"
    bad_facet = result("valid/spec-examples/ol-proxy-fluentd__events__event_full.json")
    assert bad_facet.invalid_facets == ["/inputs/0/inputFacets/dataQualityMetrics"]
    assert [(w.field, w.rule) for w in bad_facet.warnings] == [
        ("/inputs/0/inputFacets/dataQualityMetrics", "facet-schema")]
    assert "columnMetrics" in bad_facet.warnings[0].message
    # the 0.6.1 Airflow typo "https:/github.com/..." is still a URI
    typo = result("valid/airflow/spline-examples-airflow__1-1-start.json")
    assert "producer-not-uri" not in rules(typo)
    # a 1-0-1 event whose parent facet lacks run.runId: the 1-0-1 core schema types that facet
    run_facet = result(
        "invalid/spec-examples/ol-proxy-fluentd-negative__event_invalid_run_facet.json")
    assert run_facet.spec_version == "1-0-1"
    assert run_facet.invalid_facets == ["/run/facets/parent"]


# --------------------------------------------------------------------------- refusals


def test_missing_run_id_is_refused(validator: EventValidator) -> None:
    event = base_event()
    del event["run"]["runId"]
    assert refusal(validator, event) == [("/run/runId", "required")]


def test_run_id_that_is_not_a_uuid_is_refused(validator: EventValidator) -> None:
    event = base_event()
    event["run"]["runId"] = "..."
    assert refusal(validator, event) == [("/run/runId", "uuid")]


def test_missing_job_name_is_refused(validator: EventValidator) -> None:
    event = base_event()
    del event["job"]["name"]
    assert refusal(validator, event) == [("/job/name", "required")]


def test_empty_job_namespace_is_refused(validator: EventValidator) -> None:
    event = base_event()
    event["job"]["namespace"] = ""
    assert refusal(validator, event) == [("/job/namespace", "non-empty")]


def test_missing_event_time_is_refused(validator: EventValidator) -> None:
    event = base_event()
    del event["eventTime"]
    assert refusal(validator, event) == [("/eventTime", "required")]


def test_unparseable_event_time_is_refused(validator: EventValidator) -> None:
    event = base_event()
    event["eventTime"] = "{{ is_datetime(result) }}"
    assert refusal(validator, event) == [("/eventTime", "date-time")]


def test_dataset_without_name_is_refused_with_its_pointer(validator: EventValidator) -> None:
    event = base_event()
    event["inputs"] = [copy.deepcopy(event["outputs"][0]) for _ in range(4)]
    del event["inputs"][3]["name"]
    assert refusal(validator, event) == [("/inputs/3/name", "required")]


def test_all_fatal_problems_are_reported_at_once(validator: EventValidator) -> None:
    event = base_event()
    event["run"]["runId"] = "not-a-uuid"
    del event["job"]["name"]
    event["outputs"][0]["namespace"] = ""
    del event["eventTime"]
    assert sorted(refusal(validator, event)) == [
        ("/eventTime", "required"), ("/job/name", "required"),
        ("/outputs/0/namespace", "non-empty"), ("/run/runId", "uuid")]


def test_an_event_must_be_an_object_with_an_identity(validator: EventValidator) -> None:
    assert refusal(validator, [base_event()]) == [("", "type")]
    assert refusal(validator, "START") == [("", "type")]
    assert refusal(validator, {"eventTime": "2024-01-01T00:00:00Z"}) == [("", "event-kind")]


def test_a_body_that_is_not_json_is_invalid_input_naming_line_and_column() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_event_body(b'{\n  "eventType": "START",\n  "run": {"runId": }\n}')
    assert caught.value.status == 400
    assert "line 3, column" in caught.value.detail
    with pytest.raises(InvalidInput) as caught:
        parse_event_body(b'{"job": {"name": "caf\xe9"}}')
    assert "not UTF-8" in caught.value.detail and "line 1, column" in caught.value.detail
    for body in (b"", b"NaN", b"[" * 100_000):
        with pytest.raises(InvalidInput):
            parse_event_body(body)
    assert parse_event_body('\ufeff{"a": "é"}'.encode()) == {"a": "é"}


# --------------------------------------------------------------------------- accepted deviations


def test_event_time_without_offset_is_accepted_as_utc(validator: EventValidator) -> None:
    event = base_event()
    event["eventTime"] = "2020-12-28T19:51:01.641499"
    result = validator.validate(event)
    assert [(w.field, w.rule, w.value) for w in result.warnings] == [
        ("/eventTime", "date-time-without-offset", "2020-12-28T19:51:01.641499")]
    assert result.event is event
    assert parse_event_time(event["eventTime"]) == datetime(2020, 12, 28, 19, 51, 1, 641499,
                                                            tzinfo=UTC)


def test_event_times_keep_their_offset() -> None:
    assert parse_event_time("2020-12-28T19:52:00.001+10:00") == datetime(
        2020, 12, 28, 19, 52, 0, 1000, tzinfo=timezone(timedelta(hours=10)))
    assert parse_event_time("2024-10-17T09:18:11.5Z").microsecond == 500_000
    assert parse_event_time("2023-01-01T00:00:00.123456789Z").microsecond == 123_456
    with pytest.raises(ValueError):
        parse_event_time("2020-12-28")


def test_unknown_spec_version_is_validated_against_the_newest(
        validator: EventValidator) -> None:
    event = base_event()
    event["schemaURL"] = "https://openlineage.io/spec/2-8-9/OpenLineage.json#/$defs/RunEvent"
    result = validator.validate(event)
    assert result.spec_version == "2-0-2"
    assert [(w.field, w.rule) for w in result.warnings] == [("/schemaURL", "unknown-spec-version")]


def test_missing_schema_url_and_producer_are_warnings(validator: EventValidator) -> None:
    event = base_event()
    del event["schemaURL"]
    del event["producer"]
    result = validator.validate(event)
    assert result.spec_version == "2-0-2"
    assert sorted(rules(result)) == ["missing-producer", "missing-schema-url"]
    event["producer"] = "dbt on my laptop"
    assert "producer-not-uri" in rules(validator.validate(event))


def test_each_declared_version_is_used(validator: EventValidator) -> None:
    event = base_event()
    for version in ("1-0-0", "1-0-1", "1-0-2", "1-0-3", "1-0-4", "1-0-5", "2-0-0", "2-0-1"):
        event["schemaURL"] = f"https://openlineage.io/spec/{version}/OpenLineage.json"
        assert validator.validate(event).spec_version == version
    # 1-0-0 knows no RUNNING: accepted, with the reason
    event["schemaURL"] = "https://openlineage.io/spec/1-0-0/OpenLineage.json#/definitions/RunEvent"
    event["eventType"] = "RUNNING"
    result = validator.validate(event)
    assert [(w.field, w.rule) for w in result.warnings] == [("/eventType", "event-type")]


def test_facet_failing_its_schema_is_accepted_and_kept_raw(validator: EventValidator) -> None:
    event = base_event()
    schema_facet = event["outputs"][0]["facets"]["schema"]
    assert schema_facet["_schemaURL"].endswith("SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet")
    schema_facet["fields"] = [{"type": "INTEGER"}]  # a field without its required name
    result = validator.validate(event)
    assert result.invalid_facets == ["/outputs/0/facets/schema"]
    assert [(w.field, w.rule) for w in result.warnings] == [
        ("/outputs/0/facets/schema", "facet-schema")]
    assert '"name" is a required property' in result.warnings[0].message
    assert result.event["outputs"][0]["facets"]["schema"] is schema_facet  # unchanged


def test_custom_and_unknown_facet_schemas_are_not_checked(validator: EventValidator) -> None:
    event = base_event()
    event["run"]["facets"]["custom"] = {
        "_producer": "https://example.org/producer",
        "_schemaURL": "https://example.invalid/schemas/CustomFacet.json#/$defs/CustomFacet",
        "anything": [1, "two"]}
    event["run"]["facets"]["odd_fragment"] = {
        "_producer": "https://example.org/producer",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/Nope",
        "run": 3}
    result = validator.validate(event)
    assert result.warnings == [] and result.invalid_facets == []


def test_no_schema_is_ever_fetched(validator: EventValidator) -> None:
    with pytest.raises(ValueError, match=r"example\.invalid"):
        validator._compile("https://example.invalid/schema.json#/$defs/X")


# --------------------------------------------------------------------------- kinds and states


def test_dataset_event_is_accepted(validator: EventValidator) -> None:
    event = base_event()
    dataset_event = {
        "eventTime": event["eventTime"], "producer": event["producer"],
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": event["outputs"][0]}
    result = validator.validate(dataset_event)
    assert (result.kind, result.spec_version, result.warnings) == ("DatasetEvent", "2-0-2", [])
    del dataset_event["dataset"]["name"]
    assert refusal(validator, dataset_event) == [("/dataset/name", "required")]


def test_job_event_is_accepted(validator: EventValidator) -> None:
    event = base_event()
    job_event = {
        "eventTime": event["eventTime"], "producer": event["producer"],
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": event["job"], "inputs": event["inputs"], "outputs": event["outputs"]}
    result = validator.validate(job_event)
    assert (result.kind, result.warnings) == ("JobEvent", [])


def test_the_structure_decides_the_kind(validator: EventValidator) -> None:
    marquez = validator.validate(parse_event_body(
        (CORPUS / "valid/marquez/marquez-api-open_lineage__event_job_event.json").read_bytes()))
    assert marquez.kind == "JobEvent"  # it carries eventType, declares 1-0-1 (no JobEvent there)
    assert rules(marquez) == ["kind-not-in-spec-version"]
    event = base_event()
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent"
    result = validator.validate(event)
    assert result.kind == "RunEvent" and rules(result) == ["schema-url-kind-mismatch"]


@pytest.mark.parametrize("event_type", ["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"])
def test_every_run_state_is_accepted(validator: EventValidator, event_type: str) -> None:
    event = base_event()
    event["eventType"] = event_type
    result = validator.validate(event)
    assert (result.kind, result.spec_version, result.warnings, result.invalid_facets) == (
        "RunEvent", "2-0-2", [], [])


def test_event_type_is_optional(validator: EventValidator) -> None:
    event = base_event()
    del event["eventType"]
    assert validator.validate(event).warnings == []


# --------------------------------------------------------------------------- robustness


def test_a_deeply_nested_facet_is_kept_raw_not_a_crash(validator: EventValidator) -> None:
    nested: object = 1
    for _ in range(400):  # json.loads takes it; jsonschema-rs cannot list errors this deep
        nested = {"a": nested}
    event = base_event()
    event["outputs"][0]["facets"]["schema"]["fields"] = [nested]
    result = validator.validate(parse_event_body(json.dumps(event).encode()))
    assert result.invalid_facets == ["/outputs/0/facets/schema"]
    assert "facet-schema" in rules(result)


def test_one_validator_serves_several_threads(validator: EventValidator) -> None:
    bodies = [p.read_bytes() for p in corpus_files("valid")]
    with ThreadPoolExecutor(4) as pool:
        kinds = list(pool.map(lambda b: validator.validate(parse_event_body(b)).kind, bodies * 2))
    assert len(kinds) == 2 * len(bodies) and set(kinds) == {"RunEvent", "DatasetEvent",
                                                             "JobEvent"}
