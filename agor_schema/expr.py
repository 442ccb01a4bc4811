"""Neutral SQL expressions: parsed once with sqlglot (PostgreSQL flavour), rendered per dialect.

Expressions appear in index `where` clauses, index expressions, checks and `{sql: ...}`
defaults. This module parses them, lists the columns they name, and renders them; the
type-aware rewrites that differ between databases (epoch-ms timestamps and 0/1 booleans in
SQLite) are methods of the dialect (`Dialect.rewrite_expression`).

sqlglot is imported only when an expression must really be parsed: the columns an expression
reads and its rendering per dialect (keyed by the types of exactly those columns) are kept
in the active `agor_schema.cache` store, so a warm compile never loads sqlglot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from agor_schema import cache

if TYPE_CHECKING:
    from sqlglot import exp

    from agor_schema.dialects.base import Dialect
    from agor_schema.spec.types import LogicalType


class ExpressionError(ValueError):
    """An expression that does not parse, or names something the table lacks."""


@lru_cache(maxsize=4096)
def parse(sql: str) -> exp.Expression:
    """Parse one neutral SQL expression; ExpressionError with the reason if it is not exactly
    one expression (see `one_expression`)."""
    return one_expression(sql, "postgres")


# What may never appear anywhere inside an expression: a second statement, a query (no
# database accepts a subquery in a default, check, index or generated column), DDL/DML,
# transaction control, commands sqlglot could not read, and `x AS y` aliases.
def _forbidden() -> tuple[type, ...]:
    from sqlglot import exp

    names = ("Query", "Subquery", "DDL", "DML", "Command", "Transaction", "Commit", "Rollback",
             "Block", "Alias", "Set", "Pragma", "Use", "Into", "Copy", "Describe", "Drop",
             "Create", "Insert", "Update", "Delete", "Merge", "Select", "Union", "Values",
             "Kill", "Lateral", "Table")
    return tuple(getattr(exp, n) for n in names if isinstance(getattr(exp, n, None), type))


def one_expression(sql: str, dialect: str = "postgres") -> exp.Expression:
    """The parse tree of `sql` if it is exactly ONE expression in `dialect`'s syntax, else
    ExpressionError saying why.

    This is the one gate every SQL text of a schema passes (index `where` and expressions,
    checks, `{sql:}` and per-dialect defaults, generated columns, verbatim text) before it
    is pasted into DDL: no `;`, no second statement, no comment that could swallow the
    rest of a statement, no unbalanced quote, parenthesis or dollar quote, no subquery."""
    if not isinstance(sql, str) or not sql.strip():
        raise ExpressionError("the expression is empty")
    if "\x00" in sql:
        raise ExpressionError("the expression contains a NUL character")
    import sqlglot
    from sqlglot.dialects.dialect import Dialect

    reader = Dialect.get_or_raise(dialect)
    try:
        tokens = reader.tokenize(sql)
    except sqlglot.errors.SqlglotError:
        raise ExpressionError(
            f"cannot read SQL expression {sql!r}: a quote (' \" $$) or comment is not closed"
        ) from None
    _check_tokens(sql, tokens)
    try:
        trees = reader.parse(sql)
    except sqlglot.errors.ParseError as exc:
        detail = _readable(exc.errors[0]["description"] if exc.errors else str(exc))
        raise ExpressionError(f"cannot parse SQL expression {sql!r}: {detail}") from None
    except sqlglot.errors.SqlglotError as exc:
        raise ExpressionError(f"cannot parse SQL expression {sql!r}: {exc}") from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise ExpressionError(f"{sql!r} is not exactly one expression")
    tree = trees[0]
    forbidden = _forbidden()
    for node in tree.walk():
        if isinstance(node, forbidden):
            what = _describe(node, top=node is tree)
            where = "is" if node is tree else "is not one expression: it contains"
            raise ExpressionError(
                f"{sql!r} {where} {what}; write exactly one expression such as \"a > 0\" "
                "(no statements, no subqueries, no 'AS' aliases)"
            )
    return tree


def _describe(node: exp.Expression, *, top: bool) -> str:
    """What a forbidden node is, in words."""
    from sqlglot import exp

    if isinstance(node, exp.Subquery) or (isinstance(node, exp.Query) and not top):
        return "a subquery"
    if isinstance(node, exp.Alias):
        return "an alias ('x AS y')"
    return f"a statement ({type(node).__name__.upper()})"


def _is_query(node: exp.Expression) -> bool:
    from sqlglot import exp

    return isinstance(node, (exp.Query, exp.Subquery))


def _check_tokens(sql: str, tokens: list) -> None:
    """No `;` and no comment outside literals (the parser then refuses unbalanced
    parentheses)."""
    from sqlglot.tokens import TokenType

    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            raise ExpressionError(
                f"{sql!r} contains ';' outside a string: an expression is exactly one "
                "expression, never a second statement"
            )
        if token.comments:
            raise ExpressionError(
                f"{sql!r} contains an SQL comment ('--' or '/* */'); write comments in YAML "
                "(# ...), not inside an expression"
            )


_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\(")


def functions_called(sql: str, dialect: str) -> list[str]:
    """Lower-case names of the functions `sql` (text in `dialect`) calls, as written there."""
    from sqlglot import exp

    names: dict[str, None] = {}
    for node in one_expression(sql, dialect).find_all(exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else None
        if not name:
            match = _CALL.match(node.sql(dialect=dialect))
            name = match.group(1) if match else None
        if name:
            names.setdefault(name.lower(), None)
    return list(names)


def check_rendered(sql: str, dialect: str) -> str:
    """`sql` (text about to be pasted into `dialect` DDL) if it is one expression there."""
    one_expression(sql, dialect)
    return sql


_MISSING_PART = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")


def _readable(detail: str) -> str:
    """sqlglot's parse error, minus its internal class names."""
    match = _MISSING_PART.search(detail)
    if match is None:
        return detail
    part = {"expression": "right-hand operand", "this": "argument"}.get(match.group(1),
                                                                         match.group(1))
    return f"it is incomplete: {match.group(2)} is missing its {part}"


def referenced_columns(tree: exp.Expression) -> list[str]:
    """Names of the columns an expression reads, in order of appearance."""
    from sqlglot import exp

    seen: dict[str, None] = {}
    for column in tree.find_all(exp.Column):
        seen.setdefault(column.name, None)
    return list(seen)


def columns_read(sql: str) -> tuple[str, ...]:
    """`referenced_columns(parse(sql))`, cached; ExpressionError when `sql` does not parse."""
    if not isinstance(sql, str):
        return tuple(referenced_columns(parse(sql)))
    return cache.active().memo("expr", ("columns", sql),
                               lambda: tuple(referenced_columns(parse(sql))))


def check_columns(sql: str, columns: Mapping[str, object]) -> None:
    """Make sure `sql` parses and every column it names exists (ExpressionError if not)."""
    for name in columns_read(sql):
        if name not in columns:
            from agor_schema.errors import did_you_mean

            raise ExpressionError(
                f"{sql!r} names column '{name}', which the table does not have;"
                f"{did_you_mean(name, columns)} columns: {', '.join(columns)}"
            )


def verbatim_tree(text: str, dialect: Dialect) -> exp.Expression:
    """Verbatim SQL parsed in `dialect`'s syntax through the one gate every expression passes
    (`one_expression`: no `;`, comment, second statement or subquery); it is then written into
    the DDL untouched."""
    try:
        return one_expression(text, dialect.sqlglot_dialect)
    except ExpressionError as exc:
        raise ExpressionError(f"verbatim SQL: {exc}") from None


def columns_read_in(sql, dialect: Dialect) -> tuple[str, ...]:
    """Columns an expression reads: neutral text, or verbatim text in `dialect`'s syntax."""
    if isinstance(sql, str):
        return columns_read(sql)
    text = sql.verbatim
    return cache.active().memo("expr", ("verbatim-columns", dialect.name, text),
                               lambda: tuple(referenced_columns(verbatim_tree(text, dialect))))


# What a generated column may not call: values that change between calls, rows or sessions.
# PostgreSQL refuses them ("generation expression is not immutable"), SQLite at a write.
_NOT_IMMUTABLE_NODES = {"CurrentTimestamp": "now()", "CurrentDate": "current_date",
                        "CurrentTime": "current_time", "CurrentDatetime": "current_datetime",
                        "Localtimestamp": "localtimestamp", "Localtime": "localtime",
                        "CurrentUser": "current_user", "Rand": "random()", "Random": "random()"}
NOT_IMMUTABLE_FUNCTIONS = frozenset({
    "now", "random", "gen_random_uuid", "uuid_generate_v4", "clock_timestamp",
    "statement_timestamp", "transaction_timestamp", "timeofday", "nextval", "currval",
    "lastval", "setval", "txid_current", "pg_backend_pid", "randomblob", "changes",
    "last_insert_rowid", "total_changes", "current_setting", "session_user", "user",
    "inet_client_addr", "pg_sleep", "uuid", "uuid4",
})


def not_immutable_calls(sql, dialect: Dialect) -> list[str]:
    """The calls in an expression (neutral, or verbatim in `dialect`) whose value is not fixed
    by the row: time, randomness, sequences, session state ('now' in SQLite date functions)."""
    text = sql if isinstance(sql, str) else sql.verbatim
    syntax = "postgres" if isinstance(sql, str) else dialect.sqlglot_dialect
    # memoized in the project cache: a warm compile imports no sqlglot
    return list(cache.active().memo("expr", ("not-immutable", syntax, text),
                                    lambda: tuple(_not_immutable_calls(text, syntax))))


def _not_immutable_calls(text: str, syntax: str) -> list[str]:
    from sqlglot import exp

    tree = one_expression(text, syntax)
    found = [_NOT_IMMUTABLE_NODES[type(node).__name__] for node in tree.walk()
             if type(node).__name__ in _NOT_IMMUTABLE_NODES]
    found += [f"{name}()" for name in functions_called(text, syntax)
              if name in NOT_IMMUTABLE_FUNCTIONS]
    found += ["'now'" for node in tree.find_all(exp.Literal)
              if node.is_string and node.this.strip().lower() in ("now", "localtime")]
    return list(dict.fromkeys(found))


def check_columns_in(sql, dialect: Dialect, columns: Mapping[str, object]) -> None:
    """`check_columns` for neutral or verbatim SQL (verbatim parsed in `dialect`'s syntax)."""
    for name in columns_read_in(sql, dialect):
        if name not in columns:
            from agor_schema.errors import did_you_mean

            shown = sql if isinstance(sql, str) else sql.verbatim
            raise ExpressionError(
                f"{shown!r} names column '{name}', which the table does not have;"
                f"{did_you_mean(name, columns)} columns: {', '.join(columns) or '(none here)'}"
            )


def render(sql, dialect: Dialect, column_types: Mapping[str, LogicalType]) -> str:
    """Render a neutral expression as `dialect` SQL, with the dialect's type-aware rewrites;
    `{verbatim: ...}` is returned byte for byte once it is known to be one expression.

    The result depends only on the text, the dialect and the types of the columns the
    expression reads, which is exactly the cache key."""
    if not isinstance(sql, str):
        columns_read_in(sql, dialect)  # refuses anything but one expression
        return sql.verbatim
    types = tuple((c, repr(column_types.get(c))) for c in columns_read(sql))
    return cache.active().memo("expr", ("render", dialect.name, sql, types),
                               lambda: _render(sql, dialect, column_types))


def _render(sql: str, dialect: Dialect, column_types: Mapping[str, LogicalType]) -> str:
    from sqlglot import exp

    tree = parse(sql).copy()
    for column in tree.find_all(exp.Column):
        column.set("table", None)
    tree = dialect.rewrite_expression(tree, column_types)
    return check_rendered(tree.sql(dialect=dialect.sqlglot_dialect, identify=True),
                          dialect.sqlglot_dialect)


def column_type_of(node: exp.Expression, column_types: Mapping[str, LogicalType]):
    """The logical type of a bare column node, else None."""
    from sqlglot import exp

    if isinstance(node, exp.Column):
        return column_types.get(node.name)
    return None


def timestamp_literals(node: exp.Expression, column_types: Mapping[str, LogicalType]) -> list:
    """String literals `node` compares with a timestamp column: `=`, `<>`, `<`, `<=`, `>`,
    `>=` (either side), `BETWEEN ... AND ...` and `IN (...)`."""
    from sqlglot import exp

    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        pairs = [(node.this, [node.expression]), (node.expression, [node.this])]
    elif isinstance(node, exp.Between):
        pairs = [(node.this, [node.args.get("low"), node.args.get("high")])]
    elif isinstance(node, exp.In):
        pairs = [(node.this, list(node.expressions))]
    else:
        return []
    found = []
    for column, others in pairs:
        lt = column_type_of(column, column_types)
        if lt is not None and lt.name == "timestamp":
            found += [o for o in others if isinstance(o, exp.Literal) and o.is_string]
    return found


INTERVAL_MS = {
    "millisecond": 1,
    "milliseconds": 1,
    "ms": 1,
    "second": 1000,
    "seconds": 1000,
    "sec": 1000,
    "secs": 1000,
    "minute": 60_000,
    "minutes": 60_000,
    "min": 60_000,
    "mins": 60_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "day": 86_400_000,
    "days": 86_400_000,
    "week": 604_800_000,
    "weeks": 604_800_000,
}


def interval_milliseconds(node: exp.Interval) -> int:
    """Length of a fixed-size interval literal (`interval '1 day'`) in milliseconds."""
    amount_text = node.this.name if node.this is not None else ""
    unit = node.unit.name if node.unit is not None else ""
    parts = amount_text.split()
    if not unit and len(parts) == 2:
        amount_text, unit = parts
    try:
        amount = float(amount_text)
    except ValueError:
        raise ExpressionError(f"cannot read interval {node.sql()!r}") from None
    factor = INTERVAL_MS.get(unit.lower())
    if factor is None:
        raise ExpressionError(
            f"interval unit {unit!r} has no fixed length; use seconds, minutes, hours, days "
            "or weeks"
        )
    return int(round(amount * factor))
