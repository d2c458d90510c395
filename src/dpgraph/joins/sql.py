"""Join conditions of SQL text, parsed with sqlglot (never with regular expressions).

A join condition is an equality between two columns of two different *physical* tables, found
in a ``JOIN … ON``, a ``JOIN … USING`` or, for comma joins, a ``WHERE``. Table aliases are
resolved per query scope; a column read through a CTE or a derived table is followed to the
physical column it projects unchanged (``SELECT cust_id AS c FROM t``). Unqualified columns
are resolved only when their scope reads a single source: guessing would invent evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

_MAX_DEPTH = 8  # CTE / derived-table nesting followed when tracing a column


@dataclass(frozen=True, slots=True)
class TableColumn:
    table: tuple[str, ...]  # name parts as written: ("customer", "gold", "customer_profile")
    column: str

    @property
    def table_name(self) -> str:
        return ".".join(self.table)


@dataclass(frozen=True, slots=True)
class JoinCondition:
    left: TableColumn
    right: TableColumn
    condition: str  # the equality as written in the query, aliases kept


def _sqlglot():  # imported lazily: sqlglot is heavy and only lineage with SQL needs it
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope, traverse_scope

    return sqlglot, exp, Scope, traverse_scope


def _table_parts(table) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple(p.name for p in table.parts if p.name)


def _trace(scope, table_alias: str, column: str, depth: int = 0  # type: ignore[no-untyped-def]
           ) -> TableColumn | None:
    """The physical (table, column) behind ``table_alias.column`` in ``scope``."""
    _, exp, Scope, _ = _sqlglot()
    if depth > _MAX_DEPTH:
        return None
    source = scope.sources.get(table_alias)
    if isinstance(source, exp.Table):
        return TableColumn(_table_parts(source), column)
    if not isinstance(source, Scope) or not isinstance(source.expression, exp.Select):
        return None
    for projection in source.expression.expressions:
        if projection.alias_or_name.lower() != column.lower():
            continue
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column):
            return _resolve(source, inner, depth + 1)
        return None  # computed, not carried: not a key column
    return None


def _resolve(scope, column, depth: int = 0) -> TableColumn | None:  # type: ignore[no-untyped-def]
    alias = column.table
    if not alias:
        if len(scope.sources) != 1:
            return None
        alias = next(iter(scope.sources))
    return _trace(scope, alias, column.name, depth)


def _equalities(condition):  # type: ignore[no-untyped-def]
    _, exp, _, _ = _sqlglot()
    for eq in condition.find_all(exp.EQ):
        if isinstance(eq.left, exp.Column) and isinstance(eq.right, exp.Column):
            yield eq


def _scope_conditions(scope) -> list[JoinCondition]:  # type: ignore[no-untyped-def]
    _, exp, _, _ = _sqlglot()
    select = scope.expression
    if not isinstance(select, exp.Select):
        return []
    found: list[JoinCondition] = []

    def add(left, right, text: str) -> None:  # type: ignore[no-untyped-def]
        a, b = _resolve(scope, left), _resolve(scope, right)
        if a is not None and b is not None and a.table != b.table:
            found.append(JoinCondition(a, b, text))

    conditions = [j.args.get("on") for j in select.args.get("joins") or []]
    conditions.append(select.args.get("where"))
    for cond in conditions:
        if cond is not None:
            for eq in _equalities(cond):
                add(eq.left, eq.right, eq.sql())
    from_ = select.args.get("from_") or select.args.get("from")
    first = from_.this if from_ is not None else None
    for join in select.args.get("joins") or []:
        for ident in join.args.get("using") or []:
            if first is None:
                continue
            name = ident.name
            left = exp.column(name, table=first.alias_or_name)
            right = exp.column(name, table=join.this.alias_or_name)
            add(left, right, f"USING ({name})")
    return found


@lru_cache(maxsize=4096)
def join_conditions(query: str, dialect: str | None = None) -> tuple[JoinCondition, ...]:
    """Every column-equality join condition of ``query``; () when it does not parse."""
    sqlglot, _, _, traverse_scope = _sqlglot()
    try:
        trees = sqlglot.parse(query, read=dialect or None)
    except Exception:  # sqlglot raises ParseError/TokenError, or ValueError for a dialect
        return ()
    out: list[JoinCondition] = []
    for tree in trees:
        if tree is None:
            continue
        try:
            scopes = traverse_scope(tree)
        except Exception:  # scope building refuses some statements (e.g. DDL)
            continue
        for scope in scopes:
            out.extend(_scope_conditions(scope))
    return tuple(dict.fromkeys(out))


def table_matches(table: tuple[str, ...], dataset_name: str) -> bool:
    """Whether a table reference names an OpenLineage dataset: its parts equal the last parts
    of the dataset name (``main.sales_orders`` names ``mesh.main.sales_orders``), ignoring
    case; a path-like name compares by its last path segment."""
    parts = [p.lower() for p in dataset_name.replace("/", ".").split(".") if p]
    wanted = [p.lower() for p in table]
    return bool(wanted) and len(wanted) <= len(parts) and parts[-len(wanted):] == wanted
