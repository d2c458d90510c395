"""Named governance queries: ``queries/NAME.rq`` (SPARQL) and ``queries/NAME.cypher``.

Each file starts with a comment header (``#`` in SPARQL, ``//`` in Cypher); both files of one
name must carry the same header::

    # title: Products per domain
    # description: One row per product with its domain and owner
    #   (a line without a key continues the description).
    # param: now (datetime, now) the moment the query is asked about
    # param: product (string) the product to start from      <- no default: required
    # let: since = now - days days                           <- derived: datetime - integer
    # columns: domain, product, owner

Parameter types: ``string``, ``integer`` (>= 0) and ``datetime`` (ISO 8601, read as UTC when
it has no offset; the default ``now`` is the time of the call). Both languages name
parameters ``$name``. They are bound as typed values, never as the caller's text: Cypher gets
them as driver parameters; in SPARQL each ``$name`` token of *our* file is replaced by the RDF
term of the checked value, serialised by pyoxigraph (escaped literal, bare integer). pyoxigraph's
own ``substitutions`` would be the natural tool, but it refuses variables that are not
projected and does not reach into subqueries.

Rows are plain values in both languages: ids, strings, integers, and times as UTC ISO 8601
strings with microseconds (``2026-11-24T10:00:00.000000Z``), the property-graph view's form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from pyoxigraph import Literal, NamedNode

from dpgraph import vocab as v
from dpgraph.errors import DpgraphError, Finding, InvalidInput, NotFound, StoreUnavailable
from dpgraph.lineage.mapping import utc_datetime
from dpgraph.store.base import GraphStore

LANGUAGES = {"sparql": ".rq", "cypher": ".cypher"}
TYPES = ("string", "integer", "datetime")
MAX_STRING = 2000
DEFAULT_TIMEOUT = 30.0

_COMMENT = {"sparql": "#", "cypher": "//"}
_KEY = re.compile(r"^(title|description|param|let|columns):\s*(.*)$")
_PARAM = re.compile(r"^([a-z][a-z0-9_]*)\s+\(\s*(\w+)\s*(?:,\s*([^)]*?))?\s*\)\s*(.*)$")
_LET = re.compile(r"^([a-z][a-z0-9_]*)\s*=\s*([a-z][a-z0-9_]*)\s*-\s*([a-z][a-z0-9_]*)\s+"
                  r"(days|hours)$")
_TOKEN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNION = re.compile(r"^\s*UNION\b", re.IGNORECASE | re.MULTILINE)

Row = dict[str, Any]


class CypherQuery(Protocol):
    """What the runner needs of a Cypher backend: ``CypherBackend.query`` fits as is."""

    def __call__(self, cypher: str, params: Mapping[str, Any] | None = None, *,
                 timeout: float) -> list[Row]: ...


class QueryFileError(DpgraphError):
    """A query file that cannot be used (a bug in the repository, not in the request)."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None  # header text; None: required
    description: str

    @property
    def required(self) -> bool:
        return self.default is None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required,
                "default": self.default, "description": self.description}


@dataclass(frozen=True)
class Derived:
    """``name = base - amount unit``: a datetime parameter minus an integer one."""

    name: str
    base: str
    amount: str
    unit: str


@dataclass(frozen=True)
class Header:
    title: str
    description: str
    params: tuple[Param, ...]
    derived: tuple[Derived, ...]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class NamedQuery:
    name: str
    header: Header
    texts: dict[str, str] = field(default_factory=dict)  # language -> query text

    @cached_property  # read on every run of the query; the text does not change
    def cypher_is_union(self) -> bool:
        """openCypher's ORDER BY orders only the last part of a UNION: the service sorts."""
        text = self.texts.get("cypher")
        return text is not None and _UNION.search(_body(text, "cypher")) is not None

    def as_dict(self) -> dict[str, Any]:
        h = self.header
        return {"name": self.name, "title": h.title, "description": h.description,
                "params": [p.as_dict() for p in h.params], "columns": list(h.columns),
                "languages": sorted(self.texts)}


@dataclass(frozen=True)
class QueryResult:
    name: str
    language: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[list[Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "params": self.params,
                "columns": self.columns, "rows": self.rows}


def _ascending_nulls_last(row: list[Any]) -> list[tuple[bool, Any]]:
    """Cypher's ``ORDER BY`` of every column, ascending: nulls after values."""
    return [(value is None, "" if value is None else value) for value in row]


# ------------------------------------------------------------------ files
def parse_header(text: str, language: str, where: str) -> Header:
    mark = _COMMENT[language]
    fields: dict[str, Any] = {"title": "", "description": [], "param": [], "let": [],
                              "columns": ""}
    last = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(mark):
            break
        body = stripped[len(mark):].strip()
        match = _KEY.match(body)
        if match is None:
            if last == "description" and body:
                fields["description"].append(body)
            continue
        key, value = match[1], match[2].strip()
        last = key
        if key in ("param", "let", "description"):
            fields[key].append(value)
        else:
            fields[key] = value
    if not fields["title"] or not fields["columns"]:
        raise QueryFileError(f"{where}: the header needs a title and columns")
    params = tuple(_param(p, where) for p in fields["param"])
    derived = tuple(_derived(d, params, where) for d in fields["let"])
    columns = tuple(c.strip() for c in fields["columns"].split(","))
    return Header(fields["title"], " ".join(fields["description"]), params, derived, columns)


def _param(text: str, where: str) -> Param:
    match = _PARAM.match(text)
    if match is None or match[2] not in TYPES:
        raise QueryFileError(f"{where}: bad param line {text!r}; expected 'name (type[, "
                             f"default]) description' with type one of {', '.join(TYPES)}")
    name, kind, default, description = match[1], match[2], match[3], match[4]
    if default is not None:
        default = default.strip().strip('"')
        _coerce(Param(name, kind, default, description), default)  # a default must be valid
    return Param(name, kind, default, description)


def _derived(text: str, params: tuple[Param, ...], where: str) -> Derived:
    match = _LET.match(text)
    types = {p.name: p.type for p in params}
    if (match is None or types.get(match[2]) != "datetime"
            or types.get(match[3]) != "integer"):
        raise QueryFileError(f"{where}: bad let line {text!r}; expected 'name = "
                             f"<datetime param> - <integer param> days|hours'")
    return Derived(match[1], match[2], match[3], match[4])


def load_query(directory: Path, name: str) -> NamedQuery:
    texts = {}
    headers = {}
    for language, suffix in LANGUAGES.items():
        path = directory / f"{name}{suffix}"
        if path.exists():
            text = path.read_text(encoding="utf-8")
            headers[language] = parse_header(text, language, str(path))
            texts[language] = text
    if not texts:
        raise NotFound(f"no named query {name!r}")
    first, *others = headers.values()
    for other in others:
        if other != first:
            raise QueryFileError(f"the headers of {name}.rq and {name}.cypher differ")
    declared = {p.name for p in first.params} | {d.name for d in first.derived}
    for language, text in texts.items():
        used = set(_TOKEN.findall(_body(text, language)))
        if used - declared:
            raise QueryFileError(f"{name}{LANGUAGES[language]} uses undeclared parameters "
                                 f"{sorted(used - declared)}")
    return NamedQuery(name, first, texts)


def _body(text: str, language: str) -> str:
    mark = _COMMENT[language]
    return "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith(mark))


def load_all(directory: Path) -> dict[str, NamedQuery]:
    names = sorted({p.stem for suffix in LANGUAGES.values() for p in directory.glob(f"*{suffix}")})
    return {n: load_query(directory, n) for n in names if _NAME.match(n)}


# ------------------------------------------------------------------ parameters
def _invalid(param: str, rule: str, message: str, value: object = None) -> InvalidInput:
    finding = Finding("violation", message, param, f"param:{rule}",
                      value=None if value is None else str(value))
    return InvalidInput(f"parameter {param!r}: {message}", errors=[finding])


def _coerce(p: Param, raw: object) -> Any:
    if p.type == "integer":
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise _invalid(p.name, "integer", "must be a whole number >= 0", raw)
        text = str(raw).strip()
        if not text.isdigit() or len(text) > 9:
            raise _invalid(p.name, "integer", "must be a whole number >= 0 (at most 9 digits)",
                           raw)
        return int(text)
    if not isinstance(raw, str):
        raise _invalid(p.name, p.type, "must be text", raw)
    if p.type == "datetime":
        if raw == "now":
            return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace(
                "+00:00", "Z")
        try:
            return utc_datetime(raw)
        except ValueError:
            raise _invalid(p.name, "datetime", "must be an ISO 8601 date-time such as "
                           "2026-11-24T10:00:00Z (or 'now')", raw) from None
    if len(raw) > MAX_STRING:
        raise _invalid(p.name, "string", f"must be at most {MAX_STRING} characters", raw[:80])
    return raw


def bind(query: NamedQuery, raw: Mapping[str, object]) -> dict[str, Any]:
    """Checked, typed values for every parameter (defaults filled in, derived ones added)."""
    known = {p.name: p for p in query.header.params}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise _invalid(unknown[0], "unknown", f"{query.name} takes no parameter "
                       f"{unknown[0]!r}; it takes: {', '.join(known) or 'none'}")
    values: dict[str, Any] = {}
    for p in query.header.params:
        if p.name in raw:
            values[p.name] = _coerce(p, raw[p.name])
        elif p.required:
            raise _invalid(p.name, "required", f"is required ({p.type}): {p.description}")
        else:
            values[p.name] = _coerce(p, p.default)
    for d in query.header.derived:
        base = dt.datetime.fromisoformat(values[d.base].replace("Z", "+00:00"))
        moved = base - dt.timedelta(**{d.unit: values[d.amount]})
        values[d.name] = utc_datetime(moved.isoformat())
    return values


def _sparql_term(value: Any, kind: str) -> str:
    if kind == "integer":
        return str(int(value))
    if kind == "datetime":
        return str(Literal(value, datatype=v.XSD_DATETIME))
    return str(Literal(value))


def render_sparql(query: NamedQuery, values: Mapping[str, Any]) -> str:
    kinds = {p.name: p.type for p in query.header.params}
    kinds.update({d.name: "datetime" for d in query.header.derived})
    terms = {name: _sparql_term(value, kinds[name]) for name, value in values.items()}
    return _TOKEN.sub(lambda m: terms[m[1]], query.texts["sparql"])


def _plain(term: Any) -> Any:
    """A SPARQL result term as a plain JSON value (times in the property graph's form)."""
    if term is None:
        return None
    if isinstance(term, Literal):
        if term.datatype == v.XSD_STRING:  # most cells: compared in Rust, no str built
            return term.value
        dtype = term.datatype.value
        if dtype == v.XSD_DATETIME.value:
            return utc_datetime(term.value)
        if dtype in (v.XSD_INTEGER.value, v.XSD_NS + "long", v.XSD_NS + "int"):
            return int(term.value)
        if dtype in (v.XSD_DECIMAL.value, v.XSD_NS + "double", v.XSD_NS + "float"):
            number = Decimal(term.value)
            return int(number) if number == number.to_integral_value() else float(number)
        if dtype == v.XSD_BOOLEAN.value:
            return term.value == "true"
        return term.value
    if isinstance(term, NamedNode):
        return term.value
    return str(term)


# ------------------------------------------------------------------ runner
class NamedQueries:
    """Lists the named queries and runs them on the graph store or a Cypher backend."""

    def __init__(self, directory: Path, store: GraphStore, sync: Callable[[], None],
                 cypher: CypherQuery | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._directory = directory
        self._store = store
        self._sync = sync  # waits until the projections hold every acknowledged write
        self.cypher = cypher
        self._timeout = timeout
        self._queries = load_all(directory)

    def list(self) -> list[dict[str, Any]]:
        return [q.as_dict() for q in self._queries.values()]

    def get(self, name: str) -> NamedQuery:
        try:
            return self._queries[name]
        except KeyError:
            raise NotFound(f"no named query {name!r}; GET /api/v1/queries lists them") from None

    def run(self, name: str, raw: Mapping[str, object], language: str = "sparql"
            ) -> QueryResult:
        query = self.get(name)
        if language not in LANGUAGES:
            raise _invalid("lang", "enum", f"must be one of {', '.join(LANGUAGES)}", language)
        if language not in query.texts:
            raise NotFound(f"named query {name!r} has no {language} version")
        values = bind(query, raw)
        columns = list(query.header.columns)
        self._sync()
        if language == "sparql":
            rows = self._sparql(query, values, columns)
        else:
            rows = self._cypher(query, values, columns)
        public = {p.name: values[p.name] for p in query.header.params}
        return QueryResult(name, language, public, columns, rows)

    def _sparql(self, query: NamedQuery, values: Mapping[str, Any], columns: list[str]
                ) -> list[list[Any]]:
        solutions = self._store.select(render_sparql(query, values))
        found = [var.value for var in solutions.variables]
        if found != columns:
            raise QueryFileError(f"{query.name}.rq returns {found}, its header says {columns}")
        # A solution iterates its values in the order of `found`; reading them by name
        # costs more than converting them (~40 ms of 65 for 10,000 rows of 5 columns).
        return [[_plain(term) for term in row] for row in solutions]

    def _cypher(self, query: NamedQuery, values: Mapping[str, Any], columns: list[str]
                ) -> list[list[Any]]:
        if self.cypher is None:
            raise StoreUnavailable("no Cypher backend is configured in this service")
        rows = self.cypher(query.texts["cypher"], dict(values), timeout=self._timeout)
        for row in rows[:1]:
            if list(row) != columns:
                raise QueryFileError(f"{query.name}.cypher returns {list(row)}, its header "
                                     f"says {columns}")
        table = [[row.get(c) for c in columns] for row in rows]
        if query.cypher_is_union:
            table.sort(key=_ascending_nulls_last)
        return table
