"""What every dialect provides, and the pieces both dialects share.

A dialect turns logical types and neutral values into its own SQL (for snapshots), reads and
writes drizzle-kit snapshot JSON, and renders operations as statements. Shared helpers here
(table ordering, JSON literals) keep the two dialect modules about their differences only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agor_schema import ops as o
from agor_schema.snapshot import Snapshot, Table
from agor_schema.ts_literals import ts_sql

if TYPE_CHECKING:
    from sqlglot import exp

    from agor_schema.snapshot import Column
    from agor_schema.spec.types import LogicalType


# PostgreSQL renames an enum type to <name>__old to rebuild it (so names must leave room)
ENUM_REBUILD_SUFFIX = "__old"

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Dialect:
    """The DDL half of a dialect; subclasses also inherit the runtime half."""

    name: str = ""
    has_extensions = False  # CREATE EXTENSION for the `extension:` of a declared type
    sqlglot_dialect: str = ""
    snapshot_version: str = ""
    journal_dialect: str = ""
    # the `dialect` values of a drizzle-kit journal `import` takes over (older and sibling
    # drivers wrote other names for the same engine)
    import_journal_dialects: tuple[str, ...] = ()
    # its column types tell logical types apart (timestamptz vs bigint), so `import` tries its
    # spellings first when one logical type must build every dialect's column
    distinct_types: bool = False
    booleans_are_integers: bool = False  # TRUE/FALSE are just 1/0 (SQLite)
    max_identifier_bytes: int | None = None  # names longer than this are cut by the engine
    reserved_name_prefixes: tuple[str, ...] = ()  # table/index names the engine keeps for itself
    reserved_schema_prefixes: tuple[str, ...] = ()  # schema names the engine keeps for itself
    reserved_column_names: frozenset[str] = frozenset()  # system columns of every table
    folds_case: bool = False  # the engine treats `Users` and `users` as one name
    # an inline REFERENCES is resolved only when rows are written (SQLite), so a CREATE TABLE
    # may name a table created later in the same DDL
    references_resolve_late: bool = False
    # a unique constraint is kept as a unique index named `<table>_<cols>_unique` (drizzle's
    # SQLite snapshots), not as a constraint of the table
    uniques_are_indexes: bool = False

    def logical_spellings(self, column: Column) -> list[str]:
        """DSL types that may build this snapshot column's type, most specific first."""
        raise NotImplementedError

    def as_drizzle_wrote(self, snapshot: Snapshot) -> Snapshot:
        """A catalog read back (`pull`) as drizzle-kit would have written its snapshot."""
        return snapshot

    def canonical_expression(self, text: str) -> str:
        """`text` in the canonical form expressions are compared in (`sqlnorm`)."""
        from agor_schema.sqlnorm import canonical_expression

        return canonical_expression(text, self.sqlglot_dialect, self.booleans_are_integers)

    def stored_name(self, name: str) -> str:
        """The name as the database keeps it (PostgreSQL cuts at 63 bytes, on a character
        boundary)."""
        limit = self.max_identifier_bytes
        if limit is None or len(name.encode("utf-8")) <= limit:
            return name
        return name.encode("utf-8")[:limit].decode("utf-8", "ignore")

    def name_key(self, name: str) -> str:
        """What two names must differ in for the engine to keep them apart: the stored name,
        case-folded where the engine ignores case (SQLite folds ASCII letters only)."""
        stored = self.stored_name(name)
        if not self.folds_case:
            return stored
        return stored.translate(_ASCII_LOWER)

    def type_change_problem(self, op: o.AlterColumn) -> str | None:
        """Why this type change cannot keep the values' meaning in both engines (None: it
        can, or this dialect cannot tell from its types)."""
        return None

    def type_change_note(self, op: o.AlterColumn) -> str:
        """What happens to existing values when a column changes type (for the warning)."""
        return "existing values are converted"

    def unknown_functions(self, names: Sequence[str]) -> list[str]:
        """The functions of `names` (lower case) this engine does not have."""
        return []

    def relation_names(self, table: Table) -> list[tuple[str, str]]:
        """(kind, name) of every object of `table` that lives in the schema-wide namespace
        of tables and indexes."""
        names = [("table", table.name)]
        names += [("index", name) for name in table.indexes]
        names += [("unique constraint", name) for name in table.uniques]
        return names

    # ---- capabilities (validation refuses what a dialect lacks, saying how to scope it)
    generated_kinds: frozenset[str] = frozenset({"stored"})  # generated column storage
    index_options: frozenset[str] = frozenset()  # method, with, opclass, desc, nulls
    nulls_not_distinct: bool = False  # UNIQUE NULLS NOT DISTINCT
    concurrent_indexes: bool = False  # CREATE / DROP INDEX CONCURRENTLY (else ignored)

    def index_method_problem(self, method: str, extension: str | None,
                             declared: frozenset[str]) -> str | None:
        """Why the database would not know index `method` (None: it would). `extension`:
        the index's `extension:`; `declared`: the extensions the schema's types name."""
        return None

    def index_method_extension(self, method: str) -> str | None:
        """The extension known to provide index `method` (None: built in, or unknown)."""
        return None

    def index_parameter_problems(self, method: str, params: Mapping[str, Any],
                                 extension: str | None = None) -> list[tuple[str, str, bool]]:
        """(storage parameter, why the database would refuse it on a `method` index (from
        `extension` when named), whether its name rather than its value is wrong)."""
        return []

    # ---- types and values (spec -> snapshot)
    def column_type(self, lt: LogicalType) -> str:
        raise NotImplementedError

    def column_type_problem(self, lt: LogicalType, primary_key: bool) -> str | None:
        """Why this dialect cannot hold a column of type `lt` (None when it can)."""
        return None

    def enum_type(self, name: str, schema: str | None) -> tuple[str, str | None]:
        """(snapshot type, typeSchema) of a column of a declared enum."""
        raise NotImplementedError

    def custom_type(self, sql: str) -> str:
        """Snapshot type of a declared custom type (its SQL, verbatim)."""
        return sql.strip()

    def array_default(self, value: list, element: LogicalType) -> str:
        """An array column's default (a YAML list) as this dialect stores it."""
        raise NotImplementedError

    def now_default(self) -> Any:
        """Default for `default: now` on a timestamp column."""
        raise NotImplementedError

    def timestamp_default(self, epoch_ms: int, iso: str) -> Any:
        raise NotImplementedError

    def json_default(self, value: Any) -> str:
        raise NotImplementedError

    def wrap_default_expression(self, sql: str) -> str:
        """How an expression default is written after DEFAULT."""
        return sql

    def rewrite_expression(self, tree: exp.Expression, column_types: Mapping[str, LogicalType]):
        """Type-aware rewrites of a neutral expression for this dialect."""
        return tree

    def apply_autoincrement(self, table: str, column: Column, lt: LogicalType) -> None:
        raise NotImplementedError

    def add_unique(self, table: Table, name: str, columns: list[str],
                   nulls_not_distinct: bool = False) -> None:
        raise NotImplementedError

    def generated_json(self, sql: str, kind: str) -> dict:
        """The snapshot's `generated` of a column computed by `sql` (drizzle's spelling)."""
        return {"as": sql, "type": kind}

    # ---- snapshot JSON
    def snapshot_to_json(self, snapshot: Snapshot) -> dict:
        raise NotImplementedError

    def snapshot_from_json(self, document: Mapping[str, Any]) -> Snapshot:
        raise NotImplementedError

    def empty_snapshot(self) -> Snapshot:
        return Snapshot(dialect=self.name)

    # ---- SQL
    def quote(self, identifier: str) -> str:
        raise NotImplementedError

    def render(self, operations: Sequence[o.Op], old: Snapshot, new: Snapshot) -> list[str]:
        """The statements of one migration, in an order the database accepts."""
        raise NotImplementedError

    def default_sql(self, value: Any) -> str:
        """A snapshot default as it follows DEFAULT in DDL."""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def lint(self, operation: o.Op, old: Snapshot, new: Snapshot) -> list[str]:
        """What one operation costs in this engine (a rebuild, a rewrite, a long lock), as
        warnings: `lint.lint_plan` makes them findings."""
        return []

    def outside_transaction(self, op: o.Op, old: Snapshot, new: Snapshot) -> bool:
        """True when `op` cannot run in a migration's transaction (its own file, marked)."""
        return False

    def outside_transaction_sql(self, op: o.Op) -> list[str]:
        raise NotImplementedError


def columns_from_json(raw: Mapping[str, Any]) -> dict[str, Column]:
    """A snapshot table's `columns` (either dialect; missing optional keys are defaults)."""
    from agor_schema.snapshot import Column

    columns = {}
    for key, c in (raw.get("columns") or {}).items():
        name = c.get("name", key)
        columns[name] = Column(
            name=name,
            type=c["type"],
            primary_key=bool(c.get("primaryKey", False)),
            not_null=bool(c.get("notNull", False)),
            autoincrement=bool(c.get("autoincrement", False)),
            default=c.get("default"),
            identity=c.get("identity"),
            generated=c.get("generated"),
            type_schema=c.get("typeSchema"),
        )
    return columns


def absent_keys(raw: Mapping[str, Any], optional: Sequence[str]) -> tuple[str, ...]:
    """Which of the `optional` keys a snapshot object lacks (older drizzle-kit versions)."""
    return tuple(k for k in optional if k not in raw)


def constraints_from_json(raw: Mapping[str, Any], table: Table) -> None:
    """Read a snapshot table's foreign keys, composite keys, uniques and checks into `table`."""
    from agor_schema.snapshot import Check, ForeignKey, PrimaryKey, Unique

    for key, fk in (raw.get("foreignKeys") or {}).items():
        table.foreign_keys[key] = ForeignKey(
            name=fk.get("name", key),
            table_from=fk.get("tableFrom", table.name),
            table_to=fk["tableTo"],
            columns_from=list(fk.get("columnsFrom", [])),
            columns_to=list(fk.get("columnsTo", [])),
            on_delete=fk.get("onDelete") or "no action",
            on_update=fk.get("onUpdate") or "no action",
            schema_to=fk.get("schemaTo"),
        )
    for key, pk in (raw.get("compositePrimaryKeys") or {}).items():
        table.primary_keys[key] = PrimaryKey(pk.get("name", key), list(pk["columns"]))
    for key, u in (raw.get("uniqueConstraints") or {}).items():
        table.uniques[key] = Unique(u.get("name", key), list(u["columns"]),
                                    bool(u.get("nullsNotDistinct", False)))
    for key, ch in (raw.get("checkConstraints") or {}).items():
        table.checks[key] = Check(ch.get("name", key), ch["value"])


def string_literal(text: str) -> str:
    """A SQL string literal with single quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def compact_json(value: Any) -> str:
    """JSON text as drizzle writes defaults: no spaces, keys in the given order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dependency_order(tables: Sequence[Table]) -> list[Table]:
    """Tables with foreign key targets first; cycles and self references keep input order."""
    by_name = {t.name: t for t in tables}
    ordered: list[Table] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(table: Table) -> None:
        if state.get(table.name):
            return
        state[table.name] = 1
        for fk in table.foreign_keys.values():
            target = by_name.get(fk.table_to)
            if target is not None and target.name != table.name and not state.get(target.name):
                visit(target)
        state[table.name] = 2
        ordered.append(table)

    for table in tables:
        visit(table)
    return ordered


def group_by_table(operations: Sequence[o.Op]) -> dict[str, list[o.Op]]:
    """Operations per table, tables in order of first appearance."""
    groups: dict[str, list[o.Op]] = {}
    for op in operations:
        groups.setdefault(op.table, []).append(op)
    return groups


def ts_default(value: Any) -> str:
    """`.default(...)` that drizzle serialises back to exactly this snapshot default."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f".default({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f".default({value})"
    return f".default({ts_sql(str(value))})"
