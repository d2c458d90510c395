"""Read-only Cypher: an allowlist of clauses checked on the parsed query, before any engine
sees it.

The query is parsed with an openCypher grammar (Lark, Earley, below): clauses, patterns,
expressions with subqueries. Then every clause in the tree, nested ones included (``EXISTS
{ … }``, ``CALL { … }``, list comprehensions), must be one of ``MATCH``, ``OPTIONAL MATCH``,
``WITH``, ``UNWIND``, ``RETURN`` (with ``WHERE``, ``ORDER BY``, ``SKIP``, ``LIMIT``),
``UNION`` or ``CALL`` of a procedure in ``READ_PROCEDURES``. Write clauses the grammar knows
(``CREATE``, ``MERGE``, ``SET``, ``DELETE``, ``REMOVE``, ``FOREACH``) are refused by name, and so
are statements of engine dialects outside openCypher (``COPY``, ``LOAD``, ``INSTALL``,
``ATTACH``, ``EXPORT``, DDL…) when the parse stops at them. Anything else that does not
parse is a syntax error with the parser's message. A keyword inside a string literal or a
comment is never a clause: the lexer reads it as part of the literal.

Why not the engine's own parser: LadybugDB/Kùzu expose no parse-only call, and preparing or
``EXPLAIN``-ing a statement already binds it, which reads files (``COPY … FROM``, ``LOAD
FROM``) and creates directories (``EXPORT DATABASE``); ``EXPLAIN a; b`` even runs ``b``. The
check must come before. It is also backend-neutral, so the Bolt backend shares it.

The accepted text is handed on with every label and relationship type in backticks, so the
schema's ``Column`` (a reserved word in Kùzu and LadybugDB) can be written as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dpgraph.errors import DpgraphError, Finding

RULE = "cypher:read-only-allowlist"
SYNTAX_RULE = "cypher:syntax"
READ_CLAUSES = {"match_clause": "MATCH", "unwind_clause": "UNWIND", "with_clause": "WITH",
                "return_clause": "RETURN", "call_subquery": "CALL { … }"}
WRITE_CLAUSES = {"create_clause": "CREATE", "merge_clause": "MERGE", "set_clause": "SET",
                 "delete_clause": "DELETE", "remove_clause": "REMOVE",
                 "foreach_clause": "FOREACH"}
# Procedures a read query may CALL. None yet: each engine names its catalog procedures
# differently, and a shared query surface should not depend on one of them.
READ_PROCEDURES: frozenset[str] = frozenset()
# Statement keywords of engine dialects (Kùzu/LadybugDB, Neo4j admin) and openCypher's own
# write clauses: named when the parse stops at one of them.
FOREIGN_STATEMENTS = frozenset({
    "COPY", "LOAD", "INSTALL", "UNINSTALL", "ATTACH", "DETACH", "USE", "EXPORT", "IMPORT",
    "DROP", "ALTER", "CREATE", "MERGE", "SET", "DELETE", "REMOVE", "FOREACH", "BEGIN",
    "COMMIT", "ROLLBACK", "CHECKPOINT", "COMMENT", "RENAME", "TRUNCATE", "GRANT", "REVOKE",
    "DENY", "SHOW", "START", "STOP", "TERMINATE", "EXPLAIN", "PROFILE", "PROJECT"})

GRAMMAR = r"""
start: query ";"?
query: single_query (union single_query)*
union: UNION ALL?
single_query: _clause+
_clause: match_clause | unwind_clause | with_clause | return_clause | call_clause
       | call_subquery | create_clause | merge_clause | set_clause | delete_clause
       | remove_clause | foreach_clause

match_clause: OPTIONAL? MATCH pattern where?
unwind_clause: UNWIND expr AS variable
with_clause: WITH projection where?
return_clause: RETURN projection
projection: DISTINCT? projection_items order? skip? limit?
projection_items: "*" ("," projection_item)* | projection_item ("," projection_item)*
projection_item: expr (AS variable)?
order: ORDER BY sort_item ("," sort_item)*
sort_item: expr (ASC | ASCENDING | DESC | DESCENDING)?
skip: SKIP expr
limit: LIMIT expr
where: WHERE expr

call_clause: CALL procedure_name "(" [expr ("," expr)*] ")" (YIELD yield_items where?)?
call_subquery: CALL "{" query "}"
procedure_name: symbolic ("." symbolic)*
yield_items: "*" | yield_item ("," yield_item)*
yield_item: symbolic (AS variable)?

create_clause: CREATE pattern
merge_clause: MERGE pattern_part merge_action*
merge_action: ON (MATCH | CREATE) set_clause
set_clause: SET set_item ("," set_item)*
set_item: postfix "=" expr | postfix "+=" expr | variable node_labels
delete_clause: DETACH? DELETE expr ("," expr)*
remove_clause: REMOVE remove_item ("," remove_item)*
remove_item: variable node_labels | postfix
foreach_clause: FOREACH "(" variable IN expr "|" _clause+ ")"

pattern: pattern_part ("," pattern_part)*
pattern_part: (variable "=")? pattern_element
pattern_element: node_pattern (rel_pattern node_pattern)* | "(" pattern_element ")"
node_pattern: "(" variable? node_labels? properties? ")"
node_labels: (":" label ("|" label)*)+
rel_pattern: "<-" rel_detail? "-" | "-" rel_detail? "->" | "-" rel_detail? "-"
           | "<-" rel_detail? "->"
rel_detail: "[" variable? rel_types? range? properties? "]"
rel_types: ":" label ("|" ":"? label)*
range: "*" INTEGER? (".." INTEGER?)?
properties: map_literal | parameter
label: symbolic

?expr: or_expr
?or_expr: xor_expr (OR xor_expr)*
?xor_expr: and_expr (XOR and_expr)*
?and_expr: not_expr (AND not_expr)*
?not_expr: NOT not_expr | comparison
?comparison: predicate (comp_op predicate)*
!comp_op: "=~" | "<>" | "!=" | "<=" | ">=" | "=" | "<" | ">"
?predicate: add_expr (string_op add_expr | IS NOT? NULL)*
string_op: STARTS WITH | ENDS WITH | CONTAINS | IN
?add_expr: mul_expr (add_op mul_expr)*
!add_op: "+" | "-"
?mul_expr: pow_expr (mul_op pow_expr)*
!mul_op: "*" | "/" | "%"
?pow_expr: unary ("^" unary)*
?unary: add_op unary | postfix
?postfix: atom postfix_op*
postfix_op: "." property_key | "[" expr "]" | "[" expr? ".." expr? "]"
?atom: literal | parameter | case_expr | count_star | list_comprehension | quantifier
     | exists_subquery | function_call | "(" expr ")" | list_literal | map_literal
     | variable
literal: NUMBER | INTEGER | STRING | TRUE | FALSE | NULL
parameter: "$" (symbolic | INTEGER | _keyword)
case_expr: CASE expr? (WHEN expr THEN expr)+ (ELSE expr)? END
count_star: symbolic "(" "*" ")"
list_comprehension: "[" variable IN expr (WHERE expr)? ("|" expr)? "]"
// all/any/none/single(x IN list WHERE predicate); NAME, as any, none and single are not
// reserved words (a variable may be called so), and the engine rejects another name.
quantifier: (ALL | NAME) "(" variable IN expr WHERE expr ")"
exists_subquery: EXISTS "{" (query | pattern where?) "}"
function_call: procedure_name "(" DISTINCT? [expr ("," expr)*] ")"
list_literal: "[" [expr ("," expr)*] "]"
map_literal: "{" [property_key ":" expr ("," property_key ":" expr)*] "}"
property_key: symbolic | _keyword
variable: symbolic
symbolic: NAME | QUOTED_NAME
_keyword: MATCH | RETURN | WITH | WHERE | ORDER | BY | SKIP | LIMIT | CREATE | MERGE | SET
        | DELETE | REMOVE | CALL | YIELD | CASE | WHEN | THEN | ELSE | END | IN | IS
        | CONTAINS | STARTS | ENDS | AS | ON | ALL | UNION | DISTINCT | EXISTS | OPTIONAL
        | UNWIND | DETACH | FOREACH | ASC | DESC | ASCENDING | DESCENDING | AND | OR | XOR
        | NOT | NULL | TRUE | FALSE

MATCH: /match\b/i
OPTIONAL: /optional\b/i
RETURN: /return\b/i
WITH: /with\b/i
WHERE: /where\b/i
ORDER: /order\b/i
BY: /by\b/i
SKIP: /skip\b/i
LIMIT: /limit\b/i
UNWIND: /unwind\b/i
AS: /as\b/i
UNION: /union\b/i
ALL: /all\b/i
DISTINCT: /distinct\b/i
CALL: /call\b/i
YIELD: /yield\b/i
CREATE: /create\b/i
MERGE: /merge\b/i
ON: /on\b/i
SET: /set\b/i
DELETE: /delete\b/i
DETACH: /detach\b/i
REMOVE: /remove\b/i
FOREACH: /foreach\b/i
IN: /in\b/i
IS: /is\b/i
NOT: /not\b/i
NULL: /null\b/i
TRUE: /true\b/i
FALSE: /false\b/i
AND: /and\b/i
OR: /or\b/i
XOR: /xor\b/i
STARTS: /starts\b/i
ENDS: /ends\b/i
CONTAINS: /contains\b/i
CASE: /case\b/i
WHEN: /when\b/i
THEN: /then\b/i
ELSE: /else\b/i
END: /end\b/i
EXISTS: /exists\b/i
ASC: /asc\b/i
ASCENDING: /ascending\b/i
DESC: /desc\b/i
DESCENDING: /descending\b/i

NAME.-1: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED_NAME: /`(?:[^`]|``)+`/
INTEGER: /0x[0-9a-fA-F]+|\d+/
NUMBER.2: /\d+\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+([eE][+-]?\d+)?/
STRING: /'(?:[^'\\]|\\.)*'/s | /"(?:[^"\\]|\\.)*"/s
COMMENT: /\/\/[^\n]*/ | /\/\*(.|\n)*?\*\//
%import common.WS
%ignore WS
%ignore COMMENT
"""


class CypherRefused(DpgraphError):
    status = 400
    title = "Query refused"


class CypherSyntaxError(DpgraphError):
    status = 400
    title = "Invalid query"


@dataclass(frozen=True)
class ReadQuery:
    text: str  # the query with labels and relationship types quoted
    clauses: tuple[str, ...]  # every clause, in document order (nested ones included)


@lru_cache(maxsize=1)
def _parser() -> Any:
    from lark import Lark

    # Earley: openCypher is not LALR(1) as written here (an LALR build of this grammar
    # mis-read plain queries); queries are short, so Earley's cost is a few milliseconds.
    return Lark(GRAMMAR, parser="earley", lexer="basic", ambiguity="resolve",
                propagate_positions=True)


def _refuse(clause: str, detail: str) -> CypherRefused:
    return CypherRefused(
        f"{clause} is not allowed: the Cypher endpoint is read-only ({detail})",
        errors=[Finding("violation", f"{clause} is not a read clause; allowed: MATCH, "
                        "OPTIONAL MATCH, WITH, UNWIND, RETURN, WHERE, ORDER BY, SKIP, LIMIT, "
                        "UNION", "query", RULE, value=clause)])


def _token_word(token: Any) -> str | None:
    if token is None or getattr(token, "type", "") in ("STRING", "QUOTED_NAME"):
        return None
    return str(token).upper()


# The Earley parse costs 10-80 ms a query, more than most queries take to run; the named
# queries and dashboards repeat the same texts. Only accepted queries are cached (a refusal
# raises, and lru_cache keeps nothing for it).
@lru_cache(maxsize=512)
def check_read_only(text: str) -> ReadQuery:
    """The query if it is one read-only openCypher statement; raises CypherRefused (a clause
    outside the allowlist) or CypherSyntaxError (the parser's message)."""
    from lark import Token
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

    parser = _parser()
    try:
        tree = parser.parse(text)
    except UnexpectedInput as exc:
        first = next(iter(parser.lex(text)), None) if not isinstance(
            exc, UnexpectedCharacters) else None
        for token in (getattr(exc, "token", None), first):
            word = _token_word(token)
            if word in FOREIGN_STATEMENTS:
                raise _refuse(word, "a statement the read grammar does not allow") from None
        where = "at the end of the query" if isinstance(exc, UnexpectedEOF) else (
            f"at line {exc.line}, column {exc.column}")
        context = exc.get_context(text).rstrip() if not isinstance(exc, UnexpectedEOF) else ""
        message = f"syntax error {where}" + (f":\n{context}" if context else "")
        if not isinstance(exc, UnexpectedEOF) and text[:exc.pos_in_stream].rstrip().endswith(";"):
            message = "one statement per query; " + message
        raise CypherSyntaxError(message, errors=[Finding(
            "violation", message, "query", SYNTAX_RULE)]) from None
    clauses: list[str] = []
    names: list[Token] = []
    for node in tree.iter_subtrees_topdown():
        rule = node.data
        if rule in WRITE_CLAUSES:
            raise _refuse(WRITE_CLAUSES[rule], "it writes to the graph")
        if rule == "call_clause":
            name = ".".join(str(t) for t in node.children[1].scan_values(
                lambda v: isinstance(v, Token))).replace("`", "")
            if name.lower() not in READ_PROCEDURES:
                raise _refuse(f"CALL {name}", "not an allowlisted read-only procedure")
            clauses.append(f"CALL {name}")
        elif rule == "match_clause":
            optional = isinstance(node.children[0], Token) and node.children[0].type == "OPTIONAL"
            clauses.append("OPTIONAL MATCH" if optional else "MATCH")
        elif rule in READ_CLAUSES:
            clauses.append(READ_CLAUSES[rule])
        elif rule == "union":
            clauses.append("UNION")
        elif rule == "label":
            names.extend(t for t in node.scan_values(lambda v: isinstance(v, Token))
                         if t.type == "NAME")
    return ReadQuery(_quote(text, names), tuple(clauses))


def _quote(text: str, names: list[Any]) -> str:
    out, last = [], 0
    for token in sorted(names, key=lambda t: t.start_pos):
        out += [text[last:token.start_pos], f"`{token}`"]
        last = token.end_pos
    out.append(text[last:])
    return "".join(out)

