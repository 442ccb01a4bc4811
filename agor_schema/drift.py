"""Drift: a live database compared with what it should hold, as operations.

Databases rewrite the SQL they store (PostgreSQL turns `role = 'member'` into
`(role = 'member'::text)`; SQLite keeps the text as written but rewrites identifiers on
renames), so an introspected snapshot is never compared with a built one. The expected side is
produced the same way as the live one: the schema's DDL is applied to a scratch database of the
same engine (`dialect.scratch_introspect`: an in-memory SQLite, or a PostgreSQL schema inside a
transaction that is rolled back) and read back. Both sides' expressions are then compared by
meaning (`sqlnorm.canonical_snapshot`), and `diff(live, expected)` lists the drift as
operations: what would turn the database into what the schema says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agor_schema import ops as o
from agor_schema.introspect import IntrospectionError  # noqa: F401 - re-exported for callers
from agor_schema.snapshot import Check, Column, ForeignKey, Index, PrimaryKey, Snapshot, Unique

# ------------------------------------------------------------------ expected side


def schema_statements(snapshot: Snapshot, dialect: Any) -> list[str]:
    """The DDL that creates `snapshot` from nothing (what `compiler.full_ddl` prints)."""
    from agor_schema.diff import diff

    plan = diff(dialect.empty_snapshot(), snapshot)
    return dialect.render(plan.operations, plan.before, plan.after)


def expected_snapshot(snapshot: Snapshot, dialect: Any, conn: Any = None) -> Snapshot:
    """`snapshot` as the engine stores it: its DDL applied to a scratch database, read back."""
    return dialect.scratch_introspect(schema_statements(snapshot, dialect), conn)


# ------------------------------------------------------------------ drift


@dataclass
class Change:
    """One difference between a database and what it should hold, for people and JSON."""

    kind: str
    table: str
    message: str
    name: str | None = None  # column, index or constraint name

    def to_json(self) -> dict:
        return {"kind": self.kind, "table": self.table, "name": self.name,
                "message": self.message}


@dataclass
class Drift:
    """`diff(live, expected)`: the operations that would turn `live` into `expected`."""

    operations: list[o.Op]
    before: Snapshot
    after: Snapshot
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.operations

    def fix_sql(self, dialect: Any) -> list[str]:
        """The statements the dialect would run to remove the drift."""
        if not self.operations:
            return []
        return dialect.render(self.operations, self.before, self.after)


def drift(live: Snapshot, expected: Snapshot, *, actual: str = "database",
          wanted: str = "schema") -> Drift:
    """What differs between two introspected snapshots, as operations and readable lines.
    Expressions are compared by meaning (`align_expressions`), never by text."""
    from agor_schema.dialects import get_dialect
    from agor_schema.diff import diff

    plan = diff(align_expressions(live, expected, get_dialect(expected.dialect)), expected)
    return Drift(plan.operations, plan.before, plan.after,
                 describe(plan.operations, actual=actual, wanted=wanted))


def align_expressions(live: Snapshot, expected: Snapshot, dialect: Any) -> Snapshot:
    """A copy of `live` in which every expression that means the same as its counterpart in
    `expected` (same table and name; see `sqlnorm`) is spelled as `expected` spells it, so
    the differ sees only real differences and the fix SQL keeps the schema's own text."""
    import copy

    same = _equivalent(dialect)
    out = copy.deepcopy(live)
    for name, table in out.tables.items():
        want = expected.tables.get(name)
        if want is None:
            continue
        for cname, column in table.columns.items():
            other = want.columns.get(cname)
            if other is None:
                continue
            if same(column.default, other.default):
                column.default = other.default
            if column.generated and other.generated and \
                    same(column.generated.get("as"), other.generated.get("as")):
                column.generated = {**column.generated, "as": other.generated.get("as")}
        for iname, index in table.indexes.items():
            other = want.indexes.get(iname)
            if other is None:
                continue
            if same(index.where, other.where):
                index.where = other.where
            if len(index.columns) == len(other.columns):
                for part, theirs in zip(index.columns, other.columns):
                    if part.is_expression and theirs.is_expression and \
                            same(part.expression, theirs.expression):
                        part.expression = theirs.expression
        for cname, check in table.checks.items():
            other = want.checks.get(cname)
            if other is not None and same(check.value, other.value):
                check.value = other.value
    return out


def _equivalent(dialect: Any):
    def same(a: Any, b: Any) -> bool:
        if a == b:
            return True
        if not isinstance(a, str) or not isinstance(b, str):
            return False
        return dialect.canonical_expression(a) == dialect.canonical_expression(b)
    return same


def _fmt_column(c: Column) -> str:
    parts = [c.type]
    if c.primary_key:
        parts.append("primary key")
    if c.not_null:
        parts.append("not null")
    if c.autoincrement:
        parts.append("autoincrement")
    if c.identity:
        parts.append(f"identity {c.identity.get('type', '')}".strip())
    if c.default is not None:
        parts.append(f"default {c.default}")
    if c.generated:
        parts.append(f"generated as {c.generated.get('as')}")
    return " ".join(parts)


def _fmt_index(ix: Index) -> str:
    cols = ", ".join(_fmt_part(c) for c in ix.columns)
    text = f"{'unique ' if ix.unique else ''}({cols})"
    if ix.method and ix.method != "btree":
        text += f" using {ix.method}"
    if ix.with_:
        text += f" with ({', '.join(f'{k}={v}' for k, v in ix.with_.items())})"
    if ix.where:
        text += f" where {ix.where}"
    return text


def _fmt_part(c: Any) -> str:
    """One key part with its operator class and ordering (the defaults left out)."""
    text = c.expression
    if c.opclass:
        text += f" {c.opclass}"
    if not c.asc:
        text += " desc"
    if c.nulls != ("first" if not c.asc else "last"):
        text += f" nulls {c.nulls}"
    return text


def _fmt_constraint(item: Any) -> str:
    if isinstance(item, ForeignKey):
        return (f"({', '.join(item.columns_from)}) references {item.table_to}"
                f"({', '.join(item.columns_to)}) on delete {item.on_delete} "
                f"on update {item.on_update}")
    if isinstance(item, Check):
        return f"check ({item.value})"
    if isinstance(item, Unique):
        nnd = " nulls not distinct" if item.nulls_not_distinct else ""
        return f"unique{nnd} ({', '.join(item.columns)})"
    if isinstance(item, PrimaryKey):
        return f"primary key ({', '.join(item.columns)})"
    return str(item)


_PAIRED = {
    o.DropIndex: ("index", lambda op: op.index.name, lambda op: _fmt_index(op.index)),
    o.CreateIndex: ("index", lambda op: op.index.name, lambda op: _fmt_index(op.index)),
    o.DropForeignKey: ("foreign key", lambda op: op.fk.name, lambda op: _fmt_constraint(op.fk)),
    o.AddForeignKey: ("foreign key", lambda op: op.fk.name, lambda op: _fmt_constraint(op.fk)),
    o.DropUnique: ("unique constraint", lambda op: op.unique.name,
                   lambda op: _fmt_constraint(op.unique)),
    o.AddUnique: ("unique constraint", lambda op: op.unique.name,
                  lambda op: _fmt_constraint(op.unique)),
    o.DropCheck: ("check", lambda op: op.check.name, lambda op: _fmt_constraint(op.check)),
    o.AddCheck: ("check", lambda op: op.check.name, lambda op: _fmt_constraint(op.check)),
    o.DropPrimaryKey: ("primary key", lambda op: op.pk.name, lambda op: _fmt_constraint(op.pk)),
    o.AddPrimaryKey: ("primary key", lambda op: op.pk.name, lambda op: _fmt_constraint(op.pk)),
}
_ADDS = (o.CreateIndex, o.AddForeignKey, o.AddUnique, o.AddCheck, o.AddPrimaryKey)


def describe(operations: Sequence[o.Op], *, actual: str = "database",
             wanted: str = "schema") -> list[Change]:
    """Readable lines for drift operations; a drop and an add of one name read as 'differs'."""
    changes: list[Change] = []
    drops: dict[tuple[str, str, str], o.Op] = {}
    for op in operations:
        if type(op) in _PAIRED and not isinstance(op, _ADDS):
            what, name, _ = _PAIRED[type(op)]
            drops[(op.table, what, name(op))] = op
    paired: set[tuple[str, str, str]] = set()
    for op in operations:
        if isinstance(op, _ADDS):
            what, name, fmt = _PAIRED[type(op)]
            key = (op.table, what, name(op))
            if key in drops:
                paired.add(key)
                old = drops[key]
                changes.append(Change(
                    f"{op.kind.split('_', 1)[1]}_differs", op.table,
                    f"{op.table}: {what} {name(op)} differs: {actual} has {_PAIRED[type(old)][2](old)}"
                    f", {wanted} has {fmt(op)}", name(op)))
    for op in operations:
        t = op.table
        if type(op) in _PAIRED:
            what, name, fmt = _PAIRED[type(op)]
            if (t, what, name(op)) in paired:
                continue
            if isinstance(op, _ADDS):
                msg = f"{t}: {what} {name(op)} is missing from the {actual} ({fmt(op)})"
            else:
                msg = f"{t}: {actual} has {what} {name(op)} that the {wanted} does not ({fmt(op)})"
            changes.append(Change(op.kind, t, msg, name(op)))
        elif isinstance(op, o.CreateTable):
            changes.append(Change(op.kind, t, f"{t}: table is missing from the {actual}"))
        elif isinstance(op, o.DropTable):
            changes.append(Change(op.kind, t, f"{t}: {actual} has table {t} that the {wanted} "
                                  "does not"))
        elif isinstance(op, o.AddColumn):
            changes.append(Change(op.kind, t, f"{t}.{op.column.name}: column is missing from the "
                                  f"{actual} ({_fmt_column(op.column)})", op.column.name))
        elif isinstance(op, o.DropColumn):
            changes.append(Change(op.kind, t, f"{t}.{op.column.name}: {actual} has column "
                                  f"{op.column.name} ({_fmt_column(op.column)}) that the "
                                  f"{wanted} does not", op.column.name))
        elif isinstance(op, o.AlterColumn):
            details = "; ".join(
                f"{f} {_show(getattr(op.old, f))} in the {actual}, "
                f"{_show(getattr(op.new, f))} in the {wanted}" for f in op.changed())
            changes.append(Change(op.kind, t, f"{t}.{op.new.name}: column differs: {details}",
                                  op.new.name))
        else:  # renames never come out of a drift diff (no hints are given)
            changes.append(Change(op.kind, t, f"{t}: {op.kind}"))
    return changes


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


# ------------------------------------------------------------------ diff --database


@dataclass
class DatabaseDrift:
    """A live database compared with the project's schema (`agorschema diff --database`)."""

    database: str
    dialect: str
    drift: Drift
    sql: list[str]
    invalid_indexes: list[str] = field(default_factory=list)  # warnings: failed builds

    @property
    def ok(self) -> bool:
        return self.drift.empty

    def to_json(self) -> dict:
        return {"database": self.database, "dialect": self.dialect, "drift": not self.ok,
                "changes": [c.to_json() for c in self.drift.changes], "sql": self.sql,
                "invalid_indexes": self.invalid_indexes}


def database_drift(cfg: Any, url: str | None = None) -> DatabaseDrift:
    """Compare the database at `url` (default: settings `database`) with the schema.

    Raises ConfigError / SchemaErrors for a bad project, DatabaseURLError for a bad URL and
    db.ConnectError when the database cannot be opened."""
    from agor_schema.build import build_snapshot
    from agor_schema.compiler import load_specs
    from agor_schema.db import DatabaseURLError, redact
    from agor_schema.dialects import dialect_for_url

    from_config = url is None
    url = url if url is not None else cfg.database
    try:
        dialect = dialect_for_url(url)
    except ValueError as exc:
        raise DatabaseURLError(str(exc)) from None
    if from_config:
        url = dialect.anchor_url(url, cfg.root)
    if dialect.name not in cfg.dialects:
        raise DatabaseURLError(
            f"{redact(url)} is a {dialect.name} database but [tool.agorschema] dialects is "
            f"{list(cfg.dialects)}")
    dialect.require_existing_database(url)
    spec = load_specs(cfg)[dialect.name]
    snapshot = build_snapshot(spec, dialect)
    conn = dialect.connect(url, create=False)
    try:
        live = dialect.introspect(conn, exclude=(cfg.migrations_table,))
        expected = expected_snapshot(snapshot, dialect, conn)
        invalid = dialect.invalid_indexes(conn) if dialect.capabilities.invalid_indexes else []
    except dialect.db_errors as exc:  # e.g. a file that is not a SQLite database
        raise IntrospectionError(f"{redact(url)}: cannot read the database's catalog: "
                                 f"{dialect.describe_db_error(exc)}") from None
    finally:
        dialect.close_connection(conn)
    found = drift(live, expected)
    return DatabaseDrift(redact(url), dialect.name, found, found.fix_sql(dialect), invalid)
