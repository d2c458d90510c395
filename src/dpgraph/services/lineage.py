"""Lineage receiver service: validate an OpenLineage event, commit it, hand it to projection.

The raw event is the record: it is stored exactly as received (plus the deviations found),
committed with group commit before the answer, deduplicated by its canonical JSON, and
projected into the graph by the projection worker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dpgraph.errors import DpgraphError, Finding, InvalidInput
from dpgraph.lineage.validation import EventValidator, ValidatedEvent, parse_event_body
from dpgraph.log.kinds import LINEAGE_EVENT
from dpgraph.log.sqlite_log import (
    Appended,
    GroupCommit,
    LogRecord,
    NewRecord,
    SqliteLog,
    canonical_json,
)

if TYPE_CHECKING:  # the ingest front receives without the projection's imports
    from dpgraph.services.projection_worker import ProjectionWorker


@dataclass(frozen=True)
class Receipt:
    event_id: str
    offset: int
    duplicate: bool
    warnings: list[Finding]

    def as_dict(self) -> dict[str, Any]:
        return {"eventId": self.event_id, "logOffset": self.offset,
                "duplicate": self.duplicate, "warnings": [w.as_dict() for w in self.warnings]}


@dataclass
class BatchReceipt:
    received: int
    accepted: list[tuple[int, Receipt]] = field(default_factory=list)
    failed: list[tuple[int, DpgraphError]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The spec's batch answer (status, summary, failed_events), plus dpgraph's receipts."""
        return {
            "status": "success" if not self.failed else "partial_success",
            "summary": {"received": self.received, "successful": len(self.accepted),
                        "failed": len(self.failed), "retriable": 0,
                        "non_retriable": len(self.failed)},
            "failed_events": [
                {"index": i, "reason": f"{e.title}: {e.detail}", "retriable": False,
                 "errors": [f.as_dict() for f in e.errors]} for i, e in self.failed],
            "events": [{"index": i, **r.as_dict()} for i, r in self.accepted],
        }


def utc_event_time(value: str) -> str:
    """eventTime as sortable UTC text; a time without offset is taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _key(event: dict[str, Any]) -> str:
    """Log key of an event: its run, else its job or dataset."""
    if isinstance(event.get("run"), dict):
        return f"run:{str(event['run']['runId']).lower()}"
    if isinstance(event.get("dataset"), dict):
        return f"dataset:{event['dataset']['namespace']}:{event['dataset']['name']}"
    return f"job:{event['job']['namespace']}:{event['job']['name']}"


def to_record(v: ValidatedEvent) -> NewRecord:
    event_text = canonical_json(v.event)
    warnings = [w.as_dict() for w in v.warnings]
    invalid = sorted(v.invalid_facets)
    # The payload's canonical JSON reuses the event's (the bulk of it) instead of dumping it
    # a second time: the members in sort_keys order, byte-identical to canonical_json(payload).
    text = (f'{{"event":{event_text},"invalidFacets":{canonical_json(invalid)},'
            f'"kind":{canonical_json(v.kind)},"specVersion":{canonical_json(v.spec_version)},'
            f'"warnings":{canonical_json(warnings)}}}')
    return NewRecord(
        kind=LINEAGE_EVENT,
        key=_key(v.event),
        payload={"event": v.event, "kind": v.kind, "specVersion": v.spec_version,
                 "warnings": warnings, "invalidFacets": invalid},
        unique=True,
        digest=hashlib.sha256(event_text.encode("utf-8")).hexdigest(),
        event_time=utc_event_time(v.event["eventTime"]),
        text=text,
    )


class NoProjection:
    """The receiver of a process that only appends (the ingest front of `dpgraph serve`):
    the core process projects what it finds in the log."""

    def submit(self, offset: int, records: Sequence[LogRecord] = ()) -> None:
        """Nothing to hand over in this process."""


class LineageReceiver:
    """``receive``/``receive_batch`` block until the commit (CLI, demo, tests); the HTTP
    service awaits ``receive_async``/``receive_batch_async`` on its event loop. Both validate
    in the caller's thread and share one committer."""

    def __init__(self, log: SqliteLog, validator: EventValidator,
                 projection: ProjectionWorker | NoProjection) -> None:
        self._log = log
        self._commit = GroupCommit(log)
        self._validator = validator
        self._projection = projection

    def receive(self, body: bytes) -> Receipt:
        validated = self._validator.validate(parse_event_body(body))
        return self._acknowledge(validated, self._commit.append([to_record(validated)]))

    async def receive_async(self, body: bytes) -> Receipt:
        validated = self._validator.validate(parse_event_body(body))
        appended = await self._commit.append_async([to_record(validated)])
        return self._acknowledge(validated, appended)

    def receive_batch(self, body: bytes) -> BatchReceipt:
        batch, valid = self._validate_batch(body)
        if valid:
            self._acknowledge_batch(batch, valid,
                                    self._commit.append([to_record(v) for _, v in valid]))
        return batch

    async def receive_batch_async(self, body: bytes) -> BatchReceipt:
        batch, valid = self._validate_batch(body)
        if valid:
            appended = await self._commit.append_async([to_record(v) for _, v in valid])
            self._acknowledge_batch(batch, valid, appended)
        return batch

    def close(self) -> None:
        """Commit what is queued and stop the committer."""
        self._commit.close()

    def _acknowledge(self, validated: ValidatedEvent, appended: list[Appended]) -> Receipt:
        (one,) = appended
        self._projection.submit(one.record.offset, records=_new_records(appended))
        return _receipt(one, validated)

    def _validate_batch(self, body: bytes) -> tuple[BatchReceipt, list[tuple[int, ValidatedEvent]]]:
        events = parse_event_body(body)
        if not isinstance(events, list):
            raise InvalidInput("a batch is a JSON array of OpenLineage events")
        batch = BatchReceipt(received=len(events))
        valid: list[tuple[int, ValidatedEvent]] = []
        for i, event in enumerate(events):
            try:
                valid.append((i, self._validator.validate(event)))
            except DpgraphError as exc:  # each event is accepted or refused on its own
                batch.failed.append((i, exc))
        return batch, valid

    def _acknowledge_batch(self, batch: BatchReceipt, valid: list[tuple[int, ValidatedEvent]],
                           appended: list[Appended]) -> None:
        self._projection.submit(max(a.record.offset for a in appended),
                                records=_new_records(appended))
        batch.accepted = [(i, _receipt(a, v)) for (i, v), a in zip(valid, appended, strict=True)]

    def events(self, *, before: str | None, after: str | None, limit: int, offset: int,
               descending: bool) -> dict[str, Any]:
        """Raw events in Marquez's shape, filtered on eventTime."""
        records, total = self._log.by_time(
            LINEAGE_EVENT, after=utc_event_time(after) if after else None,
            before=utc_event_time(before) if before else None,
            limit=limit, skip=offset, descending=descending)
        return {"events": [r.payload["event"] for r in records], "totalCount": total}


def _new_records(appended: list[Appended]) -> list[LogRecord]:
    """The records this write stored (a duplicate's record was projected long ago)."""
    return [a.record for a in appended if not a.duplicate]


def _receipt(appended: Appended, validated: ValidatedEvent) -> Receipt:
    return Receipt(appended.record.digest, appended.record.offset, appended.duplicate,
                   validated.warnings)
