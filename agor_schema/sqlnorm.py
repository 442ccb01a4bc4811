"""SQL expressions compared by meaning: parsed with sqlglot and printed in one canonical form.

Two texts of the same expression differ in ways no database cares about: table qualifiers
(`"t"."role"` vs `"role"`), quoting (`` `a` `` vs `"a"`), whitespace (`('a','b')` vs
`('a', 'b')`), redundant parentheses, the casts PostgreSQL adds to literals (`'a'::text`), and,
in SQLite, the spelling of booleans (`= false` vs `= 0`: SQLite's TRUE and FALSE are 1 and 0).
`canonical_expression` removes exactly those (a string literal cast to text or to a
user-defined type such as an enum counts as the literal); anything else still reads as different. Text
that does not parse is compared after whitespace and quoting are unified.
"""

from __future__ import annotations

from functools import lru_cache

_TEXT_TYPES = {"text", "varchar", "char", "nvarchar", "bpchar", "character varying"}


@lru_cache(maxsize=8192)
def canonical_expression(text: str, read: str, booleans_are_integers: bool = False) -> str:
    """The canonical form of one SQL expression written in the `read` sqlglot dialect."""
    import sqlglot
    from sqlglot import exp

    from agor_schema.introspect import normalize_sql

    try:
        tree = sqlglot.parse_one(text, read=read)
    except (sqlglot.errors.SqlglotError, ValueError, RecursionError):
        return normalize_sql(text) or ""
    if tree is None:
        return normalize_sql(text) or ""

    def simplify(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.args.get("table") is not None:
            node = node.copy()
            node.set("table", None)
            node.set("db", None)
            return node
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) \
                and node.this.is_string and _is_text_type(node.to):
            return node.this
        if booleans_are_integers and isinstance(node, exp.Boolean):
            return exp.Literal.number(1 if node.this else 0)
        if isinstance(node, exp.Paren) and _redundant(node):
            return node.this
        return node

    for _ in range(8):  # until nothing changes (unwrapping can expose another layer)
        before = tree.sql(dialect="postgres", identify=True)
        tree = tree.transform(simplify)
        while isinstance(tree, exp.Paren):
            tree = tree.this
        after = tree.sql(dialect="postgres", identify=True)
        if after == before:
            break
    return after


def _is_text_type(to) -> bool:
    from sqlglot import exp

    if not isinstance(to, exp.DataType):
        return False
    if to.this == exp.DataType.Type.USERDEFINED:  # 'active'::"status": an enum's own value
        return True
    return to.sql(dialect="postgres").lower().split("(")[0].strip() in _TEXT_TYPES


def _redundant(node) -> bool:
    """Parentheses that cannot change how the expression groups."""
    from sqlglot import exp

    inner, parent = node.this, node.parent
    atoms = (exp.Column, exp.Literal, exp.Func, exp.Paren, exp.Boolean, exp.Null, exp.Cast,
             exp.Identifier, exp.Tuple, exp.Array)
    if isinstance(inner, atoms) and not isinstance(inner, exp.Connector):
        return True
    if parent is None or isinstance(parent, (exp.Where, exp.Tuple)):
        return True
    if isinstance(parent, exp.Connector):  # AND / OR: comparisons and NOT bind tighter
        return not isinstance(inner, exp.Connector) or type(inner) is type(parent)
    return False
