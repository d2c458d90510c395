"""The one error tree of dpgraph.

    DpgraphError                      500  (never shown with internal text)
    ├── InvalidInput                  400  body is not parseable (not YAML/JSON/Turtle…)
    │   └── QuerySyntaxError          400  SPARQL the parser refused (message, line, column)
    ├── ReadOnlyQuery                 403  SPARQL update, LOAD or SERVICE on the query endpoint
    ├── UnsupportedMediaType          415
    ├── NotAcceptable                 406
    ├── PayloadTooLarge               413
    ├── NotFound                      404
    ├── Conflict                      409
    ├── InvalidRegistration           422  carries the findings (schema or SHACL)
    ├── InvalidEvent                  422  an OpenLineage event that cannot be projected
    ├── InvalidParameter              422  a well-formed query parameter out of its rule
    ├── StoreLocked                   409  data directory held by another process
    ├── StoreUnavailable              503
    │   └── ProjectionStalled         503  a projection cannot advance (its error in /health)
    ├── ServiceStarting               503  the core process is not up yet (lineage POSTs are)
    └── QueryTimeout                  504  a SPARQL query stopped at its deadline

The HTTP layer maps it in one place (``api/problems.py``); the CLI prints one line per error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One refusal reason or warning, in terms a person can act on."""

    severity: str  # "violation" | "warning"
    message: str
    field: str  # descriptor field path, e.g. "elements[2].businessTerm"; "" for the whole file
    rule: str  # the rule broken: a shape IRI or "schema:<check>"
    focus_node: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "severity": self.severity,
            "field": self.field,
            "message": self.message,
            "rule": self.rule,
            "focusNode": self.focus_node,
            "value": self.value,
        }


class DpgraphError(Exception):
    status = 500
    title = "Internal error"
    public = False  # a 5xx whose detail is safe to show (says nothing of the internals)

    def __init__(self, detail: str, *, errors: list[Finding] | None = None,
                 extra: dict[str, object] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[Finding] = errors or []
        self.extra: dict[str, object] = extra or {}  # more members of the problem body


class InvalidInput(DpgraphError):
    status = 400
    title = "Invalid input"


class QuerySyntaxError(InvalidInput):
    """The SPARQL parser's message; ``extra`` holds its ``line`` and ``column`` (1-based)."""

    title = "Query syntax error"


class ReadOnlyQuery(DpgraphError):
    status = 403
    title = "Read-only endpoint"


class UnsupportedMediaType(DpgraphError):
    status = 415
    title = "Unsupported media type"


class NotAcceptable(DpgraphError):
    status = 406
    title = "Not acceptable"


class PayloadTooLarge(DpgraphError):
    status = 413
    title = "Payload too large"


class NotFound(DpgraphError):
    status = 404
    title = "Not found"


class Conflict(DpgraphError):
    status = 409
    title = "Conflict"


class InvalidRegistration(DpgraphError):
    status = 422
    title = "Registration refused"


class InvalidEvent(DpgraphError):
    """An OpenLineage event that cannot be projected; ``errors`` lists every reason, each
    naming the JSON pointer and the rule."""

    status = 422
    title = "Event refused"


class InvalidParameter(DpgraphError):
    """A query parameter that parses but breaks its rule (a range, a known value);
    ``errors`` names the parameter and the rule."""

    status = 422
    title = "Invalid parameter"


class StoreLocked(DpgraphError):
    status = 409
    title = "Data directory in use"


class StoreUnavailable(DpgraphError):
    status = 503
    title = "Store unavailable"


class ProjectionStalled(StoreUnavailable):
    title = "Projection stalled"
    public = True  # says where and since when, not why: the error itself is in /health


class ServiceStarting(DpgraphError):
    status = 503
    title = "Service starting"
    public = True


class QueryTimeout(DpgraphError):
    status = 504
    title = "Query timeout"
    public = True
