"""DSL spellings of single values, proved with the compiler's own code (for `import`/`pull`).

A column type, a default or an expression found in a snapshot or a catalog has many possible
spellings in the schema YAML; each candidate is kept only when the compiler builds exactly the
source value from it (or, for a live database whose SQL the engine rewrote, the same value by
meaning). Which DSL features this version accepts is probed with tiny schemas, so the importer
writes new spellings as soon as they exist and reports them until then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agor_schema.dialects import DIALECT_NAMES
from agor_schema.snapshot import Column

# ------------------------------------------------------------------ logical types

FALLBACK_TYPES = {"serial": "integer", "smallserial": "integer", "bigserial": "bigint",
                   "smallint": "integer"}


def _builds_type(logical: str, dialect: Any, column: Column, schema: Any,
                 loose: bool = False) -> bool:
    """Does the logical type build exactly this column's type (and typeSchema)? A catalog's
    spelling (`timestamp(3) without time zone`, `character varying(36)`) is compared by
    meaning."""
    from agor_schema.build import column_type
    from agor_schema.spec.types import TypeParseError, parse_type

    try:
        built = column_type(parse_type(logical), schema, dialect)
    except (TypeParseError, KeyError, ValueError, AttributeError, TypeError, NotImplementedError):
        return False
    if built == (column.type, column.type_schema):
        return True
    return loose and type_key(built[0]) == type_key(column.type) and \
        (built[1] or "public") == (column.type_schema or "public")


def type_key(sql_type: str) -> str:
    """A PostgreSQL type name in one spelling: no space before `(`, aliases resolved."""
    t = re.sub(r"\s+", " ", sql_type.strip().lower()).replace('"', "")
    t = re.sub(r"\s*\(\s*", "(", t)
    t = re.sub(r"\s*,\s*", ",", t)
    t = re.sub(r"^character varying", "varchar", t)
    t = re.sub(r"^timestamp(\(\d+\))? without time zone", r"timestamp\1", t)
    t = re.sub(r"^timestamptz", "timestamp with time zone", t)
    return t


def type_for(columns: Mapping[str, Column], dialects: Mapping[str, Any], schema: Any,
              loose: bool = False) -> tuple[str | None, dict[str, str]]:
    """(shared logical type, per-dialect types when no one type builds both)."""
    per: dict[str, str] = {}
    options: dict[str, list[str]] = {}
    for name, column in columns.items():
        options[name] = [c for c in dialects[name].logical_spellings(column)
                         if _builds_type(c, dialects[name], column, schema, loose)]
    if len(columns) == 2:
        # the dialect whose types tell more apart proposes, the other must build it too
        first, other = sorted(columns, key=lambda name: not dialects[name].distinct_types)
        for cand in options[first]:
            if cand in options[other] or _builds_type(cand, dialects[other], columns[other],
                                                      schema, loose):
                return cand, {}
    for name in columns:
        if not options[name]:
            return None, {name: "" for name in columns}
        per[name] = options[name][0]
    if len(per) == 1:
        return next(iter(per.values())), {}
    return None, per


def custom_name(sql_type: str, taken: Iterable[str]) -> str:
    """A declared type's name for a type the logical ones cannot build: `pg_timestamp_3`."""
    base = re.sub(r"[^a-z0-9]+", "_", sql_type.lower()).strip("_") or "type"
    name, n = f"t_{base}", 2
    while name in taken:
        name, n = f"t_{base}_{n}", n + 1
    return name


# ------------------------------------------------------------------ proving spellings


class Prover:
    """Does a DSL spelling build exactly the source value? Asked of the compiler's own code."""

    def __init__(self, dialects: Mapping[str, Any], loose: bool = False):
        self.dialects = dialects
        self.loose = loose  # compare by meaning (a database's own spelling), not text
        self._verbatim: bool | None = None
        self._features: dict[str, bool] = {}
        self._valid: dict[tuple, bool] = {}
        self.context: Any = dict  # top-level `enums:` / `types:` a column may use

    def supports(self, feature: str) -> bool:
        """Whether this version's DSL accepts a feature (probed once with a tiny schema)."""
        if feature not in self._features:
            has = FEATURE_NEEDS.get(feature, _everywhere)
            dialects = [d for d in DIALECT_NAMES if d in self.dialects and has(self.dialects[d])]
            self._features[feature] = bool(dialects) and validates(FEATURE_PROBES[feature],
                                                                    dialects)
        return self._features[feature]

    @property
    def verbatim(self) -> bool:
        """Whether this version's DSL accepts `{verbatim: ...}` expressions (GUIDE spelling)."""
        if self._verbatim is None:
            doc = {"tables": {"t": {"columns": {"a": {"type": "integer"}},
                                    "checks": {"c": {"verbatim": '"a" > 0'}}}}}
            self._verbatim = validates(doc, ("sqlite",)) and \
                _built_check(doc, "sqlite") == '"a" > 0'
        return self._verbatim

    def default(self, value: Any, logical: str, dialect: str, types: Mapping[str, Any]) -> bool:
        from agor_schema.build import default_for
        from agor_schema.spec.models import ColumnSpec

        try:
            spec = ColumnSpec.model_validate({"type": logical, "default": value})
            built = default_for(spec, spec.logical_type, types, self.dialects[dialect])
        except Exception:  # noqa: BLE001 - any failure means "this spelling does not build it"
            return False
        return self.same(built, self._target, dialect) and \
            self.valid_default(logical, value, dialect)

    def valid_default(self, logical: str, value: Any, dialect: str) -> bool:
        """Does validation accept this default on a column of this type? (simple values
        only: expressions reading other columns are checked by the final proof)"""
        key = (logical, json.dumps(value, sort_keys=True, default=str), dialect)
        if key not in self._valid:
            doc = {**self.context(),
                   "tables": {"t": {"columns": {"c": {"type": logical, "default": value}}}}}
            self._valid[key] = validates(doc, (dialect,))
        return self._valid[key]

    def same(self, built: Any, wanted: Any, dialect: str) -> bool:
        if built == wanted:
            return True
        if not self.loose or not isinstance(wanted, str):
            return False
        return same_default(self.dialects[dialect], built, wanted, self._cast)

    def expression(self, text: Any, dialect: str, types: Mapping[str, Any], wanted: str) -> bool:
        from agor_schema import expr

        if isinstance(text, dict):
            return self.verbatim and text.get("verbatim") == wanted
        try:
            return self.same(expr.render(text, self.dialects[dialect], types), wanted, dialect)
        except Exception:  # noqa: BLE001
            return False

    _target: Any = None
    _cast: str | None = None

    def default_spelling(self, target: Any, logical: str, dialect: str,
                         types: Mapping[str, Any], column_type: str | None = None
                         ) -> tuple[bool, Any]:
        """(found, DSL default) that builds `target` for `dialect`; `column_type`: the
        catalog's type of the column (the engine may store the default cast to it)."""
        self._target, self._cast = target, column_type
        for cand in _default_candidates(target, logical, self.dialects[dialect], self.loose):
            if isinstance(cand, dict) and "verbatim" in cand and not self.verbatim:
                continue
            if self.default(cand, logical, dialect, types):
                return True, cand
        return False, None

    def expression_spelling(self, wanted: str, dialect: str, types: Mapping[str, Any]
                            ) -> tuple[bool, Any]:
        for cand in expression_candidates(wanted, self.dialects[dialect], self.loose):
            if self.expression(cand, dialect, types, wanted):
                return True, cand
        return False, wanted


def same_default(dialect: Any, built: Any, wanted: str, column_type: str | None) -> bool:
    """Does a built default mean the catalog's `wanted` text? Compared by meaning; PostgreSQL
    stores a default cast to its column's type (typmod left out: `'{}'::character
    varying[]`), which the DDL did not write."""
    text = dialect.default_sql(built) if not isinstance(built, str) else built
    canonical = dialect.canonical_expression(wanted)
    if dialect.canonical_expression(text) == canonical:
        return True
    arrays = [_array_literal(t) for t in (_string_literal(text), _string_literal(wanted))]
    if arrays[0] is not None and arrays[0] == arrays[1]:  # '{"a","b"}' = '{a,b}'::text[]
        return True
    if not column_type:
        return False
    cast = re.sub(r"\(\s*\d+(?:\s*,\s*\d+)?\s*\)", "", column_type)
    try:
        return dialect.canonical_expression(f"{text}::{cast}") == canonical
    except Exception:  # noqa: BLE001 - a type name the parser does not take: not the same
        return False


def _string_literal(sql: str) -> str:
    """The text of a string literal, cast or not (`'{a}'::text[]` → `{a}`); else ''."""
    match = re.fullmatch(r"\s*'((?:[^']|'')*)'(?:::[\w \[\]\"().,]+)?\s*", sql)
    return match.group(1).replace("''", "'") if match else ""


def _array_literal(text: str) -> list | None:
    """A one-dimensional PostgreSQL array literal's elements (`{}`, `{1,2}`, `{"a","b"}`)
    as a YAML list default, or None for anything else (nested, escaped, NULL)."""
    match = re.fullmatch(r"\{(.*)\}", text, re.S)
    if match is None or "{" in match.group(1) or "\\" in match.group(1):
        return None
    body = match.group(1)
    if not body:
        return []
    items: list[Any] = []
    for raw in body.split(","):
        quoted = re.fullmatch(r'"([^"]*)"', raw)
        if quoted:
            items.append(quoted.group(1))
        elif re.fullmatch(r"-?\d+", raw):
            items.append(int(raw))
        elif re.fullmatch(r"-?\d+\.\d+", raw):
            items.append(float(raw))
        elif raw and raw.upper() != "NULL" and '"' not in raw and raw.strip() == raw:
            items.append(raw)
        else:
            return None
    return items


def _probe(table: dict, **top: Any) -> dict:
    return {**top, "tables": {"t": {"columns": {"a": {"type": "integer", "not_null": True},
                                                "b": {"type": "text"}}, **table}}}


def _everywhere(dialect: Any) -> bool:
    return True


# features only some dialects have (asked of their capabilities): probed for those only
FEATURE_NEEDS: dict[str, Callable[[Any], bool]] = {
    "index_options": lambda d: "method" in d.index_options,
    "index_with": lambda d: "with" in d.index_options,
    "concurrently": lambda d: d.concurrent_indexes,
    "part_options": lambda d: {"desc", "nulls"} <= d.index_options,
    "opclass": lambda d: "opclass" in d.index_options,
    "nulls_not_distinct": lambda d: d.nulls_not_distinct,
    "generated_virtual": lambda d: "virtual" in d.generated_kinds,
}
# the GUIDE's spellings of features other helpers are adding; an unsupported one is reported
FEATURE_PROBES: dict[str, dict] = {
    "parts": _probe({"indexes": {"i": {"parts": ["a", {"expression": "lower(b)"}]}}}),
    "index_options": _probe({"indexes": {"i": {"columns": ["a"], "method": "hash"}}}),
    "index_with": _probe({"indexes": {"i": {"columns": ["a"], "with": {"fillfactor": 70}}}}),
    "concurrently": _probe({"indexes": {"i": {"columns": ["a"], "concurrently": True}}}),
    "part_options": _probe({"indexes": {"i": {"parts": [{"column": "a", "desc": True,
                                                          "nulls": "first"}]}}}),
    "opclass": _probe({"indexes": {"i": {"parts": [{"column": "b",
                                                     "opclass": "text_pattern_ops"}]}}}),
    "named_unique": _probe({"unique": [{"columns": ["a", "b"], "name": "t_u"}]}),
    "nulls_not_distinct": _probe({"unique": [{"columns": ["a", "b"], "name": "t_u",
                                              "nulls_not_distinct": True}]}),
    "named_pk": _probe({"primary_key": {"columns": ["a", "b"], "name": "t_pk"}}),
    "generated": {"tables": {"t": {"columns": {"a": {"type": "integer"},
                                               "g": {"type": "integer",
                                                     "generated": "a + 1"}}}}},
    "generated_virtual": {"tables": {"t": {"columns": {
        "a": {"type": "integer"},
        "g": {"type": "integer", "generated": {"as": "a + 1", "type": "virtual"},
              "only": "sqlite"}}}}},
    "enums": {"enums": {"e": ["x", "y"]},
              "tables": {"t": {"columns": {"a": {"type": "enum(e)"}}}}},
    "types": {"types": {"t_x": {"postgres": "citext", "sqlite": "text"}},
              "tables": {"t": {"columns": {"a": {"type": "t_x"}}}}},
}


def _default_candidates(target: Any, logical: str, dialect: Any, loose: bool = False
                        ) -> list[Any]:
    if isinstance(target, bool) or isinstance(target, (int, float)):
        return [target]
    if not isinstance(target, str):
        return []
    out: list[Any] = []
    if loose:  # a database's spelling: 'x'::text, (0), true
        plain = neutral(target, dialect)
        for literal in (plain, strip_outer_parens(target)):
            if re.fullmatch(r"-?\d+(\.\d+)?", literal):
                out.append(float(literal) if "." in literal else int(literal))
            if literal.lower() in ("true", "false"):
                out.append(literal.lower() == "true")
                # SQLite's TRUE is 1: on an integer column the number means the same in
                # every dialect (PostgreSQL refuses DEFAULT TRUE on an integer)
                out.append(int(literal.lower() == "true"))
        # the DSL's logical spellings ('' / now) before SQL: they mean the same in every
        # dialect of the project (`{sql: CURRENT_TIMESTAMP}` is text in SQLite's epoch-ms
        # column), and each is kept only if it builds this dialect's value
        if plain != target:
            target_literal = re.fullmatch(r"'((?:[^']|'')*)'", plain)
            if target_literal:
                text = target_literal.group(1).replace("''", "'")
                array = _array_literal(text)
                if array is not None:
                    out.append(array)
                out.append(text)
        if "now()" in target.lower() or "julianday('now')" in target.lower():
            out.append("now")
        if plain != target:
            out.append({"sql": plain})
    if target == dialect.now_default():
        out.append("now")
    literal = re.fullmatch(r"'((?:[^']|'')*)'(?:::(\w+))?", target)
    if literal:
        text = literal.group(1).replace("''", "'")
        try:
            out.append(json.loads(text))
        except ValueError:
            pass
        out.append(text)
    inner = strip_outer_parens(target)
    out += [{"sql": inner}, {"sql": target}, {"verbatim": target}]
    if inner != target:
        out.append({"verbatim": inner})
    return out


def expression_candidates(wanted: str, dialect: Any = None, loose: bool = False) -> list[Any]:
    bare = re.sub(r'"(?:[^"]|"")+"\.(?=")', "", wanted)  # drop drizzle's table qualifiers
    first = [neutral(wanted, dialect)] if loose and dialect is not None else []
    return [*first, bare, wanted, {"verbatim": wanted}]


def neutral(text: str, dialect: Any) -> str:
    """A database's stored SQL as neutral text: outer parentheses and the casts PostgreSQL
    adds to string literals removed, parsed and printed by sqlglot (PostgreSQL flavour)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(text, read=dialect.sqlglot_dialect)
    except (sqlglot.errors.SqlglotError, ValueError):
        return strip_outer_parens(text)

    def simplify(node):
        # 'x'::text, 'a'::"status": the literal carries the value; the column gives the type
        if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) \
                and node.this.is_string:
            return node.this
        return node

    tree = tree.transform(simplify)
    while isinstance(tree, exp.Paren):
        tree = tree.this
    return tree.sql(dialect="postgres")


def strip_outer_parens(text: str) -> str:
    from agor_schema.introspect import IntrospectionError, strip_parens

    try:
        return strip_parens(text)
    except IntrospectionError:
        return text


def validates(doc: dict, dialects: Iterable[str]) -> bool:
    from agor_schema.spec.loader import Document
    from agor_schema.spec.validate import validate_schema

    try:
        validate_schema(Document(doc), tuple(dialects))
        return True
    except Exception:  # noqa: BLE001
        return False


def _built_check(doc: dict, dialect: str) -> str | None:
    from agor_schema.build import build_snapshot
    from agor_schema.dialects import get_dialect
    from agor_schema.spec.loader import Document
    from agor_schema.spec.validate import validate_schema

    try:
        spec = validate_schema(Document(doc), (dialect,))[dialect]
        table = build_snapshot(spec, get_dialect(dialect)).tables["t"]
        return next(iter(table.checks.values())).value
    except Exception:  # noqa: BLE001
        return None
